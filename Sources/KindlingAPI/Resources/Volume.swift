import KindlingAddresses

/// `spec.volumes[]` of the kinds kindling mounts: Secrets and ConfigMaps as files, and empty directories.
/// A volume of another type (hostPath, persistentVolumeClaim, ...) decodes with no source and is mounted as
/// an empty directory; the write that created it carried a warning for the dropped field.
public struct Volume: Codable, Hashable, Sendable {
    public var name: String
    public var secret: SecretVolumeSource?
    public var configMap: ConfigMapVolumeSource?
    public var emptyDir: EmptyDirVolumeSource?

    public init(name: String, secret: SecretVolumeSource? = nil, configMap: ConfigMapVolumeSource? = nil) {
        self.name = name
        self.secret = secret
        self.configMap = configMap
    }

    public mutating func applyDefaults() {
        if secret != nil, secret?.defaultMode == nil { secret?.defaultMode = 0o644 }
        if configMap != nil, configMap?.defaultMode == nil { configMap?.defaultMode = 0o644 }
        if secret == nil, configMap == nil, emptyDir == nil { emptyDir = EmptyDirVolumeSource() }
    }

    func validate(_ path: String) -> [FieldError] {
        var errors = LabelValidation.dns1123LabelProblems(name).map { FieldError.invalid("\(path).name", name, $0) }
        if [secret != nil, configMap != nil, emptyDir != nil].filter({ $0 }).count > 1 {
            errors.append(.forbidden("\(path).configMap", "may not specify more than 1 volume type"))
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
