import KindlingAddresses

/// `v1` PersistentVolumeClaim: a request for storage, bound to one PersistentVolume (made for it by the class's
/// provisioner, on the node of its first pod when the class waits for one).
public struct PersistentVolumeClaim: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "PersistentVolumeClaim"
    public static let resource = "persistentvolumeclaims"
    public static let namespaced = true
    public static let shortNames = ["pvc"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: PersistentVolumeClaim.self)]

    public struct Spec: Codable, Hashable, Sendable {
        public var accessModes: [String]?
        public var resources: ResourceRequirements?
        public var storageClassName: String?
        public var volumeName: String?
        public var volumeMode: String?
        public var selector: LabelSelector?

        public init(accessModes: [String]?, storage: Quantity) {
            self.accessModes = accessModes
            self.resources = ResourceRequirements(requests: ["storage": storage])
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        public var phase: String?
        public var accessModes: [String]?
        public var capacity: [String: String]?

        public init(phase: String?) { self.phase = phase }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
        stampTypeMeta()
    }

    public mutating func prepareForCreate() { status = Status(phase: "Pending") }

    public mutating func applyDefaults() { spec.volumeMode = spec.volumeMode ?? "Filesystem" }

    public static let accessModes = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]

    public func validate() -> [FieldError] { spec.validate("spec") }

    /// As kube-apiserver: once bound, a claim's spec is fixed but for a larger request.
    public func validateUpdate(from old: PersistentVolumeClaim) -> [FieldError] {
        var allowed = old.spec
        allowed.resources = spec.resources
        if old.spec.volumeName == nil { allowed.volumeName = spec.volumeName }
        if old.spec.storageClassName == nil { allowed.storageClassName = spec.storageClassName }
        guard allowed != spec else { return validate() }
        return validate() + [.forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims")]
    }

    public var requestedStorage: String? { spec.resources?.requests?["storage"]?.description }
    /// The node a class that waits for a first consumer is to provision on, set by the scheduler.
    public static let selectedNodeAnnotation = "volume.kubernetes.io/selected-node"
}

extension PersistentVolumeClaim.Spec {
    func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        let modes = accessModes ?? []
        if modes.isEmpty { errors.append(.required("\(path).accessModes", "at least 1 access mode is required")) }
        for mode in modes where !PersistentVolumeClaim.accessModes.contains(mode) {
            errors.append(.unsupported("\(path).accessModes", mode, supported: PersistentVolumeClaim.accessModes))
        }
        if resources?.requests?["storage"] == nil { errors.append(.required("\(path).resources[storage]")) }
        if let mode = volumeMode, !["Filesystem", "Block"].contains(mode) {
            errors.append(.unsupported("\(path).volumeMode", mode, supported: ["Block", "Filesystem"]))
        }
        return errors
    }
}

/// `v1` PersistentVolume: storage a claim binds to. Kindling's provisioner makes them as local-path-provisioner
/// does, a directory on the machine tied to one node.
public struct PersistentVolume: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "PersistentVolume"
    public static let resource = "persistentvolumes"
    public static let namespaced = false
    public static let shortNames = ["pv"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: PersistentVolume.self)]

    public struct HostPath: Codable, Hashable, Sendable {
        public var path: String
        public var type: String?

        public init(path: String, type: String?) {
            self.path = path
            self.type = type
        }
    }

    public struct VolumeNodeAffinity: Codable, Hashable, Sendable {
        public var required: NodeSelector?

        public init(required: NodeSelector?) { self.required = required }
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var capacity: [String: String]?
        public var accessModes: [String]?
        public var persistentVolumeReclaimPolicy: String?
        public var storageClassName: String?
        public var claimRef: ObjectReference?
        public var hostPath: HostPath?
        public var local: HostPath?
        public var nodeAffinity: VolumeNodeAffinity?
        public var volumeMode: String?

        public init() {}
    }

    public struct Status: Codable, Hashable, Sendable {
        public var phase: String?
        public var message: String?
        public var reason: String?

        public init(phase: String?) { self.phase = phase }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
        stampTypeMeta()
    }

    public mutating func prepareForCreate() { status = status ?? Status(phase: "Pending") }

    public mutating func applyDefaults() {
        spec.persistentVolumeReclaimPolicy = spec.persistentVolumeReclaimPolicy ?? "Retain"
        spec.volumeMode = spec.volumeMode ?? "Filesystem"
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if (spec.accessModes ?? []).isEmpty { errors.append(.required("spec.accessModes")) }
        if spec.capacity?["storage"] == nil { errors.append(.required("spec.capacity")) }
        let sources = [spec.hostPath != nil, spec.local != nil].filter { $0 }.count
        if sources == 0 { errors.append(.required("spec", "must specify a volume type")) }
        if sources > 1 { errors.append(.forbidden("spec.local", "may not specify more than 1 volume type")) }
        if let policy = spec.persistentVolumeReclaimPolicy, !["Delete", "Recycle", "Retain"].contains(policy) {
            errors.append(.unsupported("spec.persistentVolumeReclaimPolicy", policy, supported: ["Delete", "Recycle", "Retain"]))
        }
        for (field, source) in [("hostPath", spec.hostPath), ("local", spec.local)] {
            if let source, !source.path.hasPrefix("/") { errors.append(.invalid("spec.\(field).path", source.path, "must be an absolute path")) }
        }
        return errors
    }

    /// Where its files are on this machine.
    public var path: String? { spec.local?.path ?? spec.hostPath?.path }
}

/// `storage.k8s.io/v1` StorageClass: how claims naming it get volumes. Every cluster has `standard`, the
/// default, as kind installs it (local-path-provisioner, WaitForFirstConsumer, Delete).
public struct StorageClass: KubeObject {
    public static let apiVersion = "storage.k8s.io/v1"
    public static let kind = "StorageClass"
    public static let resource = "storageclasses"
    public static let namespaced = false
    public static let shortNames = ["sc"]

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var provisioner: String
    public var reclaimPolicy: String?
    public var volumeBindingMode: String?
    public var allowVolumeExpansion: Bool?
    public var parameters: [String: String]?

    public init(metadata: ObjectMeta, provisioner: String) {
        self.metadata = metadata
        self.provisioner = provisioner
        stampTypeMeta()
    }

    public mutating func applyDefaults() {
        reclaimPolicy = reclaimPolicy ?? "Delete"
        volumeBindingMode = volumeBindingMode ?? "Immediate"
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if provisioner.isEmpty { errors.append(.required("provisioner")) }
        if let mode = volumeBindingMode, !["Immediate", "WaitForFirstConsumer"].contains(mode) {
            errors.append(.unsupported("volumeBindingMode", mode, supported: ["Immediate", "WaitForFirstConsumer"]))
        }
        if let policy = reclaimPolicy, !["Delete", "Retain"].contains(policy) {
            errors.append(.unsupported("reclaimPolicy", policy, supported: ["Delete", "Retain"]))
        }
        return errors
    }

    public func validateUpdate(from old: StorageClass) -> [FieldError] {
        var errors = validate()
        if provisioner != old.provisioner { errors.append(.invalid("provisioner", provisioner, "field is immutable")) }
        if reclaimPolicy != old.reclaimPolicy { errors.append(.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.")) }
        if volumeBindingMode != old.volumeBindingMode { errors.append(.forbidden("volumeBindingMode", "field is immutable")) }
        return errors
    }

    public static let defaultAnnotation = "storageclass.kubernetes.io/is-default-class"
    public var isDefault: Bool { metadata.annotations?[Self.defaultAnnotation] == "true" }
    /// What kind's `standard` class names: local-path-provisioner's.
    public static let localPath = "rancher.io/local-path"
}
