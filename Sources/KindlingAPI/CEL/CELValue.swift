import Foundation

/// A CEL value: the JSON types as CEL sees them (integers and doubles apart), unsigned integers and bytes.
public enum CELValue: Hashable, Sendable, CustomStringConvertible {
    case int(Int64), uint(UInt64), double(Double), bool(Bool), string(String), bytes([UInt8]), null
    case list([CELValue])
    case map([CELValue: CELValue])

    /// A JSON tree as JSONSerialization makes it (NSNumbers told apart by `JSONNumber`).
    public init(foundation value: Any) {
        switch value {
        case let text as String: self = .string(text)
        case let list as [Any]: self = .list(list.map(CELValue.init(foundation:)))
        case let map as [String: Any]:
            self = .map(Dictionary(uniqueKeysWithValues: map.map { (CELValue.string($0.key), CELValue(foundation: $0.value)) }))
        case let number as NSNumber:
            switch JSONNumber(number) {
            case .bool(let flag): self = .bool(flag)
            case .int(let integer): self = .int(integer)
            case .double(let double): self = .double(double)
            }
        default: self = .null
        }
    }

    /// CEL's name of the value's type, as errors name it.
    public var typeName: String {
        switch self {
        case .int: "int"
        case .uint: "uint"
        case .double: "double"
        case .bool: "bool"
        case .string: "string"
        case .bytes: "bytes"
        case .null: "null_type"
        case .list: "list"
        case .map: "map"
        }
    }

    public var description: String {
        switch self {
        case .int(let i): String(i)
        case .uint(let u): "\(u)u"
        case .double(let d): String(d)
        case .bool(let b): String(b)
        case .string(let s): "\"\(s)\""
        case .bytes(let b): "b\"\(String(decoding: b, as: UTF8.self))\""
        case .null: "null"
        case .list(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .map(let members): "{" + members.map { "\($0.key): \($0.value)" }.sorted().joined(separator: ", ") + "}"
        }
    }

    /// The value as a number, for CEL's comparisons across numeric types.
    var numeric: Double? {
        switch self {
        case .int(let i): Double(i)
        case .uint(let u): Double(u)
        case .double(let d): d
        default: nil
        }
    }

    /// CEL's equality: numbers compare by value whatever their type; other types only with their own.
    func equals(_ other: CELValue) -> Bool {
        if let a = numeric, let b = other.numeric { return a == b }
        switch (self, other) {
        case (.list(let a), .list(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1) }
        case (.map(let a), .map(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b.first { $0.key.equals(key) }.map { $0.value.equals(value) } ?? false }
        default: return self == other
        }
    }
}

/// Why an expression has no value: a missing key, an index out of range, an overflow, or an operation its
/// operands' types do not have, in cel-go's words.
public struct CELError: Error, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }

    static func noOverload(_ function: String, _ arguments: [CELValue]) -> CELError {
        CELError("no such overload: \(function)(\(arguments.map(\.typeName).joined(separator: ", ")))")
    }
}
