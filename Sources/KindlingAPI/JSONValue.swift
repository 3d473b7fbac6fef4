import Foundation

/// Any JSON value, for the places the API carries an object of no fixed type (a Table row's object, which
/// is its metadata or, with `includeObject=Object`, the whole object). Integers stay integers.
public indirect enum JSONValue: Codable, Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// `value` as it encodes. Through JSONSerialization's tree, not `init(from:)`: decoding tries each case in
    /// turn, and a thrown error per object member made a 1,000-row Table's objects most of its cost.
    public init<T: Encodable>(encoding value: T) throws {
        self.init(tree: try JSONSerialization.jsonObject(with: KubeJSON.encoder.encode(value), options: [.fragmentsAllowed]))
    }

    /// A JSONSerialization tree as a value.
    public init(tree: Any) {
        switch tree {
        case let map as [String: Any]: self = .object(map.mapValues(JSONValue.init(tree:)))
        case let list as [Any]: self = .array(list.map(JSONValue.init(tree:)))
        case let string as String: self = .string(string)
        case let number as NSNumber:
            switch JSONNumber(number) {
            case .bool(let value): self = .bool(value)
            case .int(let value): self = .int(value)
            case .double(let value): self = .double(value)
            }
        default: self = .null
        }
    }

    /// The value decoded as a `T`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try KubeJSON.decoder.decode(T.self, from: KubeJSON.encoder.encode(self))
    }
}
