/// `autoscaling/v1 Scale`, the `/scale` subresource of ReplicaSets and Deployments (`kubectl scale`).
public struct Scale: Codable, Hashable, Sendable {
    public struct Spec: Codable, Hashable, Sendable {
        public var replicas: Int?
        public init(replicas: Int?) { self.replicas = replicas }
    }
    public struct Status: Codable, Hashable, Sendable {
        public var replicas: Int
        public var selector: String?
        public init(replicas: Int, selector: String?) {
            self.replicas = replicas
            self.selector = selector
        }
    }

    public var apiVersion: String? = "autoscaling/v1"
    public var kind: String? = "Scale"
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec, status: Status?) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// How a kind's `scale` subresource reads its objects (wanted and current replicas, the pods' selector) and
/// writes the wanted replicas.
public struct Scaling<Object: APIObject>: Sendable {
    public let read: @Sendable (Object) -> (wanted: Int, current: Int, selector: String?)
    public let write: @Sendable (inout Object, Int) -> Void

    public init(read: @escaping @Sendable (Object) -> (wanted: Int, current: Int, selector: String?),
                write: @escaping @Sendable (inout Object, Int) -> Void) {
        self.read = read
        self.write = write
    }

    /// The object's `autoscaling/v1 Scale`: named as the object, its replicas and selector.
    public func scale(of object: Object) -> Scale {
        var meta = ObjectMeta(name: object.metadata.name, namespace: object.metadata.namespace)
        meta.uid = object.metadata.uid
        meta.resourceVersion = object.metadata.resourceVersion
        meta.creationTimestamp = object.metadata.creationTimestamp
        let replicas = read(object)
        return Scale(metadata: meta, spec: .init(replicas: replicas.wanted), status: .init(replicas: replicas.current, selector: replicas.selector))
    }
}

extension Scaling {
    /// A built-in kind's, through `Scalable`.
    static var scalable: Scaling {
        Scaling(read: { object in
            guard let scalable = object as? any Scalable else { return (0, 0, nil) }
            return (scalable.desiredReplicas, scalable.currentReplicas, scalable.podSelector?.selector.description)
        }, write: { object, replicas in
            guard var scalable = object as? any Scalable else { return }
            scalable.desiredReplicas = replicas
            if let written = scalable as? Object { object = written }
        })
    }
}

extension Scaling where Object == UnstructuredObject {
    /// A custom kind's, at the paths its definition names; a missing or non-integer count reads as 0 and a
    /// missing selector as none, as apiextensions reads them.
    static func paths(_ scale: CustomResourceDefinition.Scale) -> Scaling {
        let wanted = Self.components(scale.specReplicasPath), current = Self.components(scale.statusReplicasPath)
        let selector = scale.labelSelectorPath.map(Self.components)
        return Scaling(read: { object in
            func integer(_ path: [String]) -> Int {
                if case .int(let value)? = object.value(at: path) { return Int(value) }
                return 0
            }
            var text: String?
            if let selector, case .string(let value)? = object.value(at: selector) { text = value }
            return (integer(wanted), integer(current), text)
        }, write: { object, replicas in
            object.setValue(.int(Int64(replicas)), at: wanted)
        })
    }

    /// `.spec.replicas` as `["spec", "replicas"]`.
    static func components(_ path: String?) -> [String] {
        (path ?? "").split(separator: ".").map(String.init)
    }
}
