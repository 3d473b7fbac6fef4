import Foundation
import KindlingAPI

/// Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which kubectl's
/// `create namespace|deployment|service|configmap` send and never retry as JSON. Decoded into the JSON tree the
/// rest of the API works with, through a table of the messages kindling serves (`ProtobufSchema`), the way
/// apimachinery's serializer reads them: the `k8s\0` prefix, a `runtime.Unknown` carrying the type's apiVersion
/// and kind, and the object's own message as its raw bytes. Fields not in the table are skipped, as unknown
/// protobuf fields are. Empty values are dropped as JSON's `omitempty` drops them, except fields Kubernetes
/// declares as pointers (`replicas: 0` stays).
public enum KubeProtobuf {
    public static let mediaType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = [0x6b, 0x38, 0x73, 0x00]

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The object in `data` as JSON (with apiVersion and kind).
    public static func decode(_ data: Data) throws -> [String: Any] {
        let bytes = [UInt8](data)
        guard bytes.starts(with: magic) else { throw Failure("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]") }
        var unknown = Reader(bytes[4...])
        var apiVersion = "", kind = "", raw: ArraySlice<UInt8> = []
        while let (field, value) = try unknown.next() {
            switch (field, value) {
            case (1, .bytes(let typeMeta)):
                var reader = Reader(typeMeta)
                while let (number, part) = try reader.next() {
                    if case .bytes(let text) = part {
                        if number == 1 { apiVersion = String(decoding: text, as: UTF8.self) }
                        if number == 2 { kind = String(decoding: text, as: UTF8.self) }
                    }
                }
            case (2, .bytes(let object)): raw = object
            case (3, .bytes(let encoding)) where !encoding.isEmpty:
                throw Failure("content encoding \(String(decoding: encoding, as: UTF8.self)) is not supported")
            default: continue
            }
        }
        guard let message = ProtobufSchema.messageForKind[kind] else {
            throw Failure("no kind \"\(kind)\" is registered for version \"\(apiVersion)\" in protobuf")
        }
        var tree = try object(raw, message: message)
        tree["apiVersion"] = apiVersion
        tree["kind"] = kind
        return tree
    }

    /// One message as a JSON object.
    static func object(_ bytes: ArraySlice<UInt8>, message: String) throws -> [String: Any] {
        guard let fields = ProtobufSchema.messages[message] else { throw Failure("no protobuf schema for \(message)") }
        var reader = Reader(bytes)
        var result: [String: Any] = [:]
        while let (number, value) = try reader.next() {
            guard let field = fields[number] else { continue }
            switch field.shape {
            case .single:
                if case .embedded(let inner) = field.type {
                    guard case .bytes(let bytes) = value else { throw Failure("\(message).\(field.name): expected a message") }
                    result.merge(try object(bytes, message: inner)) { _, new in new }
                } else {
                    result[field.name] = try convert(value, field.type)
                }
            case .repeated:
                var list = result[field.name] as? [Any] ?? []
                if case .bytes(let packed) = value, field.type.isVarint {
                    var inner = Reader(packed)
                    while let item = try inner.varint() { list.append(try convert(.varint(item), field.type) ?? 0) }
                } else if let item = try convert(value, field.type) ?? (field.type.isMessage ? [String: Any]() : nil) {
                    list.append(item)
                }
                result[field.name] = list
            case .map(let keyType):
                guard case .bytes(let entry) = value else { throw Failure("\(message).\(field.name): a map entry must be length-delimited") }
                var inner = Reader(entry)
                var key: Any?, item: Any?
                while let (part, partValue) = try inner.next() {
                    if part == 1 { key = try convert(partValue, keyType) }
                    if part == 2 { item = try convert(partValue, field.type) }
                }
                var map = result[field.name] as? [String: Any] ?? [:]
                // An absent value is the type's zero (an empty string for the string and bytes maps served).
                map["\(key ?? "")"] = item ?? ("" as Any)
                result[field.name] = map
            }
        }
        // omitempty: what a Go client would not have sent as JSON.
        for field in fields.values where !field.keepZero {
            if isEmpty(result[field.name]) { result[field.name] = nil }
        }
        return result
    }

    static func isEmpty(_ value: Any?) -> Bool {
        switch value {
        case nil: true
        case let text as String: text.isEmpty
        case let flag as Bool: !flag
        case let number as Int: number == 0
        case let map as [String: Any]: map.isEmpty
        case let list as [Any]: list.isEmpty
        default: false
        }
    }

    static func convert(_ value: Reader.Value, _ type: ProtobufSchema.FieldType) throws -> Any? {
        switch (type, value) {
        case (.string, .bytes(let text)): return String(decoding: text, as: UTF8.self)
        case (.bytes, .bytes(let data)): return Data(data).base64EncodedString()
        case (.int, .varint(let number)): return Int(Int64(bitPattern: number))
        case (.int32, .varint(let number)): return Int(Int32(truncatingIfNeeded: number))
        case (.bool, .varint(let number)): return number != 0
        case (.message(let name), .bytes(let bytes)): return try object(bytes, message: name)
        case (.time, .bytes(let bytes)):
            var reader = Reader(bytes)
            var seconds: Int64 = 0
            while let (number, part) = try reader.next() { if number == 1, case .varint(let value) = part { seconds = Int64(bitPattern: value) } }
            // Go's time ends at year 9999 (and starts at year 1): beyond that no client sends a real time.
            guard (-62_135_596_800...253_402_300_799).contains(seconds) else { throw Failure("a time of \(seconds) seconds is out of range") }
            return seconds == 0 ? nil : Timestamp.string(Date(timeIntervalSince1970: TimeInterval(seconds)))
        case (.intOrString, .bytes(let bytes)):
            var reader = Reader(bytes)
            var isString = false, number = 0, text = ""
            while let (part, partValue) = try reader.next() {
                switch (part, partValue) {
                case (1, .varint(let kind)): isString = kind == 1
                case (2, .varint(let value)): number = Int(Int32(truncatingIfNeeded: value))
                case (3, .bytes(let value)): text = String(decoding: value, as: UTF8.self)
                default: break
                }
            }
            return isString ? text : number
        case (.quantity, .bytes(let bytes)):
            var reader = Reader(bytes)
            var text = ""
            while let (part, partValue) = try reader.next() { if part == 1, case .bytes(let value) = partValue { text = String(decoding: value, as: UTF8.self) } }
            return text
        default:
            throw Failure("unexpected wire type for a \(type) field")
        }
    }

    /// Protobuf's wire format: tagged varints, fixed-width numbers and length-delimited bytes.
    struct Reader {
        enum Value { case varint(UInt64), bytes(ArraySlice<UInt8>), fixed }

        var bytes: ArraySlice<UInt8>
        init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

        mutating func varint() throws -> UInt64? {
            guard !bytes.isEmpty else { return nil }
            var value: UInt64 = 0, shift: UInt64 = 0
            while let byte = bytes.first {
                bytes = bytes.dropFirst()
                guard shift < 64 else { throw Failure("varint overflow") }
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            throw Failure("unexpected end of a varint")
        }

        /// The next field's number and value, or nil at the end.
        mutating func next() throws -> (Int, Value)? {
            guard let tag = try varint() else { return nil }
            let number = Int(tag >> 3)
            guard number > 0 else { throw Failure("illegal field number 0") }
            switch tag & 7 {
            case 0:
                guard let value = try varint() else { throw Failure("unexpected end of data") }
                return (number, .varint(value))
            case 1, 5:
                let width = tag & 7 == 1 ? 8 : 4
                guard bytes.count >= width else { throw Failure("unexpected end of data") }
                bytes = bytes.dropFirst(width)
                return (number, .fixed)
            case 2:
                guard let length = try varint(), length <= UInt64(bytes.count) else { throw Failure("length-delimited field beyond the data") }
                let value = bytes.prefix(Int(length))
                bytes = bytes.dropFirst(Int(length))
                return (number, .bytes(value))
            default:
                throw Failure("unsupported wire type \(tag & 7)")
            }
        }
    }
}
