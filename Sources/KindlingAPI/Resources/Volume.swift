import KindlingAddresses

/// `spec.volumes[]` of the kinds kindling mounts: Secrets and ConfigMaps as files, empty directories, projected
/// volumes (Secrets, ConfigMaps, the pod's namespace and ServiceAccount tokens in one directory), claims (their
/// volume's directory) and host paths (the machine's own, which kindling's nodes share). A volume of another
/// type decodes with no source and is mounted as an empty directory; the write that created it carried a
/// warning for the dropped field.
public struct Volume: Codable, Hashable, Sendable {
    public var name: String
    public var secret: SecretVolumeSource?
    public var configMap: ConfigMapVolumeSource?
    public var emptyDir: EmptyDirVolumeSource?
    public var projected: ProjectedVolumeSource?
    public var persistentVolumeClaim: ClaimSource?
    public var hostPath: HostPathSource?

    public struct ClaimSource: Codable, Hashable, Sendable {
        public var claimName: String
        public var readOnly: Bool?
    }

    public struct HostPathSource: Codable, Hashable, Sendable {
        public var path: String
        public var type: String?

        public static let types = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]
    }

    /// A volume of the claim `claim`.
    public init(name: String, claim: String) {
        self.name = name
        self.persistentVolumeClaim = ClaimSource(claimName: claim)
    }

    public init(name: String, secret: SecretVolumeSource? = nil, configMap: ConfigMapVolumeSource? = nil, projected: ProjectedVolumeSource? = nil) {
        self.name = name
        self.secret = secret
        self.configMap = configMap
        self.projected = projected
    }

    public mutating func applyDefaults() {
        if secret != nil, secret?.defaultMode == nil { secret?.defaultMode = 0o644 }
        if configMap != nil, configMap?.defaultMode == nil { configMap?.defaultMode = 0o644 }
        projected?.applyDefaults()
        if hostPath != nil, hostPath?.type == nil { hostPath?.type = "" }
        if sources == 0 { emptyDir = EmptyDirVolumeSource() }
    }

    var sources: Int {
        [secret != nil, configMap != nil, emptyDir != nil, projected != nil, persistentVolumeClaim != nil, hostPath != nil].filter { $0 }.count
    }

    func validate(_ path: String) -> [FieldError] {
        var errors = LabelValidation.dns1123LabelProblems(name).map { FieldError.invalid("\(path).name", name, $0) }
        if let projected { errors += projected.validate("\(path).projected") }
        if sources > 1 { errors.append(.forbidden("\(path).configMap", "may not specify more than 1 volume type")) }
        if let claim = persistentVolumeClaim, claim.claimName.isEmpty { errors.append(.required("\(path).persistentVolumeClaim.claimName")) }
        if let host = hostPath {
            if host.path.isEmpty { errors.append(.required("\(path).hostPath.path")) }
            if let type = host.type, !HostPathSource.types.contains(type) {
                errors.append(.unsupported("\(path).hostPath.type", type, supported: HostPathSource.types.filter { !$0.isEmpty }))
            }
        }
        if let secret, (secret.secretName ?? "").isEmpty { errors.append(.required("\(path).secret.secretName")) }
        if let configMap, (configMap.name ?? "").isEmpty { errors.append(.required("\(path).configMap.name")) }
        for (source, items, mode) in [("secret", secret?.items, secret?.defaultMode), ("configMap", configMap?.items, configMap?.defaultMode)] {
            if let mode, !(0...0o777).contains(mode) {
                errors.append(.invalid("\(path).\(source).defaultMode", mode, "must be a number between 0 and 0777 (octal), both inclusive"))
            }
            for (i, item) in (items ?? []).enumerated() {
                let p = "\(path).\(source).items[\(i)]"
                if item.key.isEmpty { errors.append(.required("\(p).key")) }
                if item.path.isEmpty { errors.append(.required("\(p).path")) }
                if item.path.hasPrefix("/") { errors.append(.invalid("\(p).path", item.path, "must be a relative path")) }
                if item.path.split(separator: "/").contains("..") { errors.append(.invalid("\(p).path", item.path, "must not contain '..'")) }
                if let mode = item.mode, !(0...0o777).contains(mode) {
                    errors.append(.invalid("\(p).mode", mode, "must be a number between 0 and 0777 (octal), both inclusive"))
                }
            }
        }
        return errors
    }
}

/// `items[]` of a Secret or ConfigMap volume: which key becomes which file.
public struct KeyToPath: Codable, Hashable, Sendable {
    public var key: String
    public var path: String
    public var mode: Int?

    public init(key: String, path: String, mode: Int? = nil) {
        self.key = key
        self.path = path
        self.mode = mode
    }
}

public struct SecretVolumeSource: Codable, Hashable, Sendable {
    public var secretName: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int?
    public var optional: Bool?

    public init(secretName: String) { self.secretName = secretName }
}

public struct ConfigMapVolumeSource: Codable, Hashable, Sendable {
    public var name: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int?
    public var optional: Bool?

    public init(name: String) { self.name = name }
}

public struct EmptyDirVolumeSource: Codable, Hashable, Sendable {
    public var medium: String?
    public var sizeLimit: String?

    public init() {}
}

/// `containers[].volumeMounts[]`.
public struct VolumeMount: Codable, Hashable, Sendable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?
    public var subPath: String?

    public init(name: String, mountPath: String, readOnly: Bool? = nil) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
    }
}

/// `env[].valueFrom.secretKeyRef` and `.configMapKeyRef`: one key of a Secret or ConfigMap in the pod's namespace.
public struct KeySelector: Codable, Hashable, Sendable {
    public var name: String?
    public var key: String
    public var optional: Bool?

    public init(name: String?, key: String, optional: Bool? = nil) {
        self.name = name
        self.key = key
        self.optional = optional
    }
}

/// `containers[].envFrom[]`: every key of a ConfigMap or Secret as a variable, with an optional prefix.
public struct EnvFromSource: Codable, Hashable, Sendable {
    public struct Reference: Codable, Hashable, Sendable {
        public var name: String?
        public var optional: Bool?

        public init(name: String?, optional: Bool? = nil) {
            self.name = name
            self.optional = optional
        }
    }

    public var prefix: String?
    public var configMapRef: Reference?
    public var secretRef: Reference?

    public init(prefix: String? = nil, configMapRef: Reference? = nil, secretRef: Reference? = nil) {
        self.prefix = prefix
        self.configMapRef = configMapRef
        self.secretRef = secretRef
    }
}

/// `projected`: several sources' files in one directory, as the ServiceAccount admission mounts a pod's
/// token, the cluster CA and its namespace.
public struct ProjectedVolumeSource: Codable, Hashable, Sendable {
    public struct Projection: Codable, Hashable, Sendable {
        public struct Named: Codable, Hashable, Sendable {
            public var name: String?
            public var items: [KeyToPath]?
            public var optional: Bool?

            public init(name: String?, items: [KeyToPath]? = nil) {
                self.name = name
                self.items = items
            }
        }
        public struct DownwardAPI: Codable, Hashable, Sendable {
            public struct File: Codable, Hashable, Sendable {
                public struct FieldRef: Codable, Hashable, Sendable {
                    public var apiVersion: String?
                    public var fieldPath: String
                }
                public var path: String
                public var fieldRef: FieldRef?
                public var mode: Int?

                public init(path: String, fieldPath: String) {
                    self.path = path
                    fieldRef = FieldRef(apiVersion: "v1", fieldPath: fieldPath)
                }
            }
            public var items: [File]?

            public init(items: [File]?) { self.items = items }
        }
        public struct ServiceAccountToken: Codable, Hashable, Sendable {
            public var audience: String?
            public var expirationSeconds: Int64?
            public var path: String

            public init(audience: String? = nil, expirationSeconds: Int64?, path: String) {
                self.audience = audience
                self.expirationSeconds = expirationSeconds
                self.path = path
            }
        }

        public var secret: Named?
        public var configMap: Named?
        public var downwardAPI: DownwardAPI?
        public var serviceAccountToken: ServiceAccountToken?

        public init(secret: Named? = nil, configMap: Named? = nil, downwardAPI: DownwardAPI? = nil, serviceAccountToken: ServiceAccountToken? = nil) {
            self.secret = secret
            self.configMap = configMap
            self.downwardAPI = downwardAPI
            self.serviceAccountToken = serviceAccountToken
        }
    }

    public var sources: [Projection]?
    public var defaultMode: Int?

    public init(sources: [Projection], defaultMode: Int? = 0o644) {
        self.sources = sources
        self.defaultMode = defaultMode
    }

    /// The downward API fields a projected file may carry.
    public static let downwardFields = ["metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations",
                                        "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.podIP"]

    mutating func applyDefaults() {
        if defaultMode == nil { defaultMode = 0o644 }
        for index in (sources ?? []).indices {
            if sources![index].serviceAccountToken != nil, sources![index].serviceAccountToken?.expirationSeconds == nil {
                sources![index].serviceAccountToken?.expirationSeconds = 3600
            }
            for file in (sources![index].downwardAPI?.items ?? []).indices where sources![index].downwardAPI?.items?[file].fieldRef?.apiVersion == nil {
                sources![index].downwardAPI?.items?[file].fieldRef?.apiVersion = "v1"
            }
        }
    }

    func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (index, source) in (sources ?? []).enumerated() {
            let at = "\(path).sources[\(index)]"
            let kinds = [source.secret != nil, source.configMap != nil, source.downwardAPI != nil, source.serviceAccountToken != nil]
            if kinds.filter({ $0 }).count != 1 { errors.append(.forbidden(at, "may not specify more than 1 volume type per source")) }
            if let token = source.serviceAccountToken {
                if token.path.isEmpty { errors.append(.required("\(at).serviceAccountToken.path")) }
                if let seconds = token.expirationSeconds, seconds < 600 {
                    errors.append(.invalid("\(at).serviceAccountToken.expirationSeconds", seconds, "may not specify a duration less than 10 minutes"))
                }
            }
            for (file, item) in (source.downwardAPI?.items ?? []).enumerated() {
                if let field = item.fieldRef?.fieldPath, !Self.downwardFields.contains(field) {
                    errors.append(.unsupported("\(at).downwardAPI.items[\(file)].fieldRef.fieldPath", field, supported: Self.downwardFields))
                }
            }
        }
        return errors
    }
}
