import Foundation
import KindlingAPI

/// The OpenAPI v3 schema of a `Decodable` type, read from the type itself: it is decoded from a decoder that
/// answers every question and writes down what was asked (each key and the type decoded for it; arrays'
/// elements and maps' values are described apart). So a built-in kind's schema is exactly the fields kindling
/// keeps, and cannot drift from them. Types whose decoding does not show their JSON shape (int-or-string
/// values, quantities, free JSON) and object metadata (a reference to the shared schema) are given directly.
public enum TypeSchema {
    /// `schema` for `T` with `metadata` left to `metadataSchema` (kube-openapi refers to ObjectMeta by name).
    public static func of<T: Decodable>(_ type: T.Type, metadataSchema: [String: Any]) -> [String: Any] {
        Probe(metadata: metadataSchema).describe(T.self).schema
    }

    /// What a nested description shares: the types on the way down (a type met again inside itself is free
    /// JSON, as recursion would not end) and the schema metadata gets.
    final class Probe {
        let metadata: [String: Any]
        var inProgress: Set<ObjectIdentifier> = []

        init(metadata: [String: Any]) { self.metadata = metadata }

        static var intOrString: [String: Any] { ["x-kubernetes-int-or-string": true, "anyOf": [["type": "integer"], ["type": "string"]]] }
        static var freeJSON: [String: Any] { ["type": "object", "x-kubernetes-preserve-unknown-fields": true] }

        /// The schema of `T`, and a value of it when one can be made (a field that is not optional needs one).
        func describe<T: Decodable>(_ type: T.Type) -> (schema: [String: Any], value: T?) {
            if let primitive = Self.primitive(T.self) { return (primitive, try? T(from: ProbeDecoder(self, Recording()))) }
            switch T.self {
            case is ObjectMeta.Type: return (metadata, ObjectMeta() as? T)
            case is IntOrString.Type: return (Self.intOrString, IntOrString.int(0) as? T)
            case is Quantity.Type: return (Self.intOrString, Quantity("0") as? T)
            case is JSONValue.Type: return (Self.freeJSON, JSONValue.null as? T)
            default: break
            }
            if let container = T.self as? any ProbedContainer.Type {
                return (container.schema(self), try? T(from: ProbeDecoder(self, Recording(), empty: true)))
            }
            let id = ObjectIdentifier(T.self)
            guard inProgress.insert(id).inserted else { return (Self.freeJSON, nil) }
            defer { inProgress.remove(id) }
            let recording = Recording()
            let value = try? T(from: ProbeDecoder(self, recording))
            return (recording.schema, value)
        }

        static func primitive<T>(_ type: T.Type) -> [String: Any]? {
            switch T.self {
            case is String.Type, is Data.Type: ["type": "string"]
            case is Bool.Type: ["type": "boolean"]
            case is Int.Type, is Int64.Type, is UInt64.Type, is UInt.Type: ["type": "integer", "format": "int64"]
            case is Int32.Type, is UInt32.Type, is Int16.Type, is UInt16.Type, is Int8.Type, is UInt8.Type: ["type": "integer", "format": "int32"]
            case is Double.Type, is Float.Type, is Decimal.Type: ["type": "number", "format": "double"]
            default: nil
            }
        }
    }

    /// What one level of decoding asked for: the keys of an object, or the type of a single value.
    final class Recording {
        var properties: [String: [String: Any]] = [:]
        var single: [String: Any]?
        var keyed = false

        var schema: [String: Any] {
            if let single { return single }
            guard keyed else { return Probe.freeJSON }
            return ["type": "object", "properties": properties]
        }
    }
}

/// Arrays, maps and optionals: described by what they hold, made empty (or nil).
protocol ProbedContainer {
    static func schema(_ probe: TypeSchema.Probe) -> [String: Any]
}

extension Array: ProbedContainer where Element: Decodable {
    static func schema(_ probe: TypeSchema.Probe) -> [String: Any] { ["type": "array", "items": probe.describe(Element.self).schema] }
}

extension Dictionary: ProbedContainer where Key == String, Value: Decodable {
    static func schema(_ probe: TypeSchema.Probe) -> [String: Any] { ["type": "object", "additionalProperties": probe.describe(Value.self).schema] }
}

extension Optional: ProbedContainer where Wrapped: Decodable {
    static func schema(_ probe: TypeSchema.Probe) -> [String: Any] { probe.describe(Wrapped.self).schema }
}

/// A decoder with an answer to everything: keys are present and never null, single values are zero or empty,
/// and every nested type asked for is described on the way. `empty` makes arrays and maps empty and optionals nil.
struct ProbeDecoder: Decoder {
    let probe: TypeSchema.Probe
    let recording: TypeSchema.Recording
    let empty: Bool
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    init(_ probe: TypeSchema.Probe, _ recording: TypeSchema.Recording, empty: Bool = false) {
        self.probe = probe
        self.recording = recording
        self.empty = empty
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        recording.keyed = true
        return KeyedDecodingContainer(Keyed<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { Unkeyed(decoder: self) }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: ProbeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        var allKeys: [Key] { [] }
        func contains(_ key: Key) -> Bool { !decoder.empty }
        func decodeNil(forKey key: Key) throws -> Bool { decoder.empty }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let (schema, value) = decoder.probe.describe(T.self)
            decoder.recording.properties[key.stringValue] = schema
            guard let value else { throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath + [key], debugDescription: "probe")) }
            return value
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            decoder.recording.properties[key.stringValue] = decoder.probe.describe(T.self).schema
            return nil
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            let nested = TypeSchema.Recording()
            decoder.recording.properties[key.stringValue] = ["type": "object"]
            return try ProbeDecoder(decoder.probe, nested).container(keyedBy: NestedKey.self)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { Unkeyed(decoder: decoder) }
        func superDecoder() throws -> any Decoder { decoder }
        func superDecoder(forKey key: Key) throws -> any Decoder { decoder }
    }

    /// Arrays a type reads by hand: no elements.
    struct Unkeyed: UnkeyedDecodingContainer {
        let decoder: ProbeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { 0 }
        var isAtEnd: Bool { true }
        var currentIndex: Int { 0 }
        mutating func decodeNil() throws -> Bool { true }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath, debugDescription: "probe: no elements"))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try decoder.container(keyedBy: NestedKey.self)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { self }
        mutating func superDecoder() throws -> any Decoder { decoder }
    }

    /// A single value: the first type asked for is its schema (zero or empty is its value).
    struct Single: SingleValueDecodingContainer {
        let decoder: ProbeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { decoder.empty }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (schema, value) = decoder.probe.describe(T.self)
            if decoder.recording.single == nil, !decoder.recording.keyed { decoder.recording.single = schema }
            if let value { return value }
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath, debugDescription: "probe"))
        }

        func decode(_ type: String.Type) throws -> String { record(type, "") }
        func decode(_ type: Bool.Type) throws -> Bool { record(type, false) }
        func decode(_ type: Int.Type) throws -> Int { record(type, 0) }
        func decode(_ type: Int64.Type) throws -> Int64 { record(type, 0) }
        func decode(_ type: Int32.Type) throws -> Int32 { record(type, 0) }
        func decode(_ type: UInt.Type) throws -> UInt { record(type, 0) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { record(type, 0) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { record(type, 0) }
        func decode(_ type: Double.Type) throws -> Double { record(type, 0) }
        func decode(_ type: Float.Type) throws -> Float { record(type, 0) }

        func record<T>(_ type: T.Type, _ value: T) -> T {
            if decoder.recording.single == nil, !decoder.recording.keyed { decoder.recording.single = TypeSchema.Probe.primitive(T.self) }
            return value
        }
    }
}
