/// An object of a kind known only at run time: its type and object metadata read, everything else kept as
/// written (client-go's `Unstructured`). Metadata decodes as every kind's does, so the registry's bookkeeping
/// (names, uid, resourceVersion, finalizers, managed fields) is the same for it.
public struct UnstructuredObject: APIObject {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// Every other top-level field (`spec`, `status`, ...).
    public var content: [String: JSONValue]

    /// The top-level fields that are the API's (type and object metadata), not the kind's own.
    public static let apiFields: Set = ["apiVersion", "kind", "metadata"]

    public init(apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(), content: [String: JSONValue] = [:]) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.content = content
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: Key("apiVersion"))
        kind = try container.decodeIfPresent(String.self, forKey: Key("kind"))
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: Key("metadata")) ?? ObjectMeta()
        content = [:]
        for key in container.allKeys where !Self.apiFields.contains(key.stringValue) {
            content[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(apiVersion, forKey: Key("apiVersion"))
        try container.encodeIfPresent(kind, forKey: Key("kind"))
        try container.encode(metadata, forKey: Key("metadata"))
        for (key, value) in content { try container.encode(value, forKey: Key(key)) }
    }
}

extension UnstructuredObject {
    /// The value at a path of field names under the object's own fields (`["spec", "replicas"]`).
    public func value(at path: [String]) -> JSONValue? {
        guard let first = path.first, var value = content[first] else { return nil }
        for name in path.dropFirst() {
            guard case .object(let members) = value, let next = members[name] else { return nil }
            value = next
        }
        return value
    }

    /// Sets the value at a path of field names, making the objects on the way (unstructured's SetNestedField).
    public mutating func setValue(_ value: JSONValue, at path: [String]) {
        guard let first = path.first else { return }
        func set(_ node: JSONValue?, _ rest: ArraySlice<String>) -> JSONValue {
            guard let name = rest.first else { return value }
            var members: [String: JSONValue] = [:]
            if case .object(let existing)? = node { members = existing }
            members[name] = set(members[name], rest.dropFirst())
            return .object(members)
        }
        content[first] = set(content[first], path.dropFirst())
    }
}
