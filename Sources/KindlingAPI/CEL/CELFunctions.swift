import Foundation

/// CEL's standard functions and the Kubernetes string and list extensions validation rules reach for: `size`,
/// `startsWith`, `endsWith`, `contains`, `matches` (an unanchored regular expression), `lowerAscii`,
/// `upperAscii`, `trim`, `split`, `join`, `replace`, `substring`, `indexOf`, `lastIndexOf`, the conversions
/// `int`, `uint`, `double`, `string`, `bool`, `dyn`, and `isSorted`, `sum`, `min`, `max` on lists.
enum CELFunctions {
    static func call(_ function: String, _ receiver: CELValue?, _ arguments: [CELValue]) throws(CELError) -> CELValue {
        let all = (receiver.map { [$0] } ?? []) + arguments
        switch (function, all.count) {
        case ("size", 1):
            switch all[0] {
            case .string(let s): return .int(Int64(s.unicodeScalars.count))
            case .bytes(let b): return .int(Int64(b.count))
            case .list(let l): return .int(Int64(l.count))
            case .map(let m): return .int(Int64(m.count))
            default: break
            }
        case ("int", 1), ("uint", 1), ("double", 1), ("string", 1), ("bool", 1), ("dyn", 1):
            return try convert(function, all[0])
        case ("matches", 2):
            guard case .string(let text) = all[0], case .string(let pattern) = all[1] else { break }
            guard let regex = try? NSRegularExpression(pattern: pattern) else { throw CELError("invalid regular expression: \(pattern)") }
            return .bool(regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil)
        case ("isSorted", 1), ("sum", 1), ("min", 1), ("max", 1):
            guard case .list(let items) = all[0] else { break }
            return try list(function, items)
        default:
            if case .string(let text) = all[0] { return try string(function, text, Array(all.dropFirst())) }
            if case .list(let items) = all[0], function == "join" { return try join(items, Array(all.dropFirst())) }
            if case .list(let items) = all[0], function == "indexOf" || function == "lastIndexOf", all.count == 2 {
                let found = function == "indexOf" ? items.firstIndex { $0.equals(all[1]) } : items.lastIndex { $0.equals(all[1]) }
                return .int(Int64(found ?? -1))
            }
        }
        throw CELError.noOverload(function, all)
    }

    static func string(_ function: String, _ text: String, _ arguments: [CELValue]) throws(CELError) -> CELValue {
        let strings = arguments.compactMap { if case .string(let s) = $0 { s } else { nil } }
        let integers = arguments.compactMap { if case .int(let i) = $0 { Int(i) } else { nil } }
        let scalars = Array(text.unicodeScalars)
        switch (function, strings.count, integers.count) {
        case ("startsWith", 1, 0): return .bool(text.hasPrefix(strings[0]))
        case ("endsWith", 1, 0): return .bool(text.hasSuffix(strings[0]))
        case ("contains", 1, 0): return .bool(strings[0].isEmpty || text.contains(strings[0]))
        case ("lowerAscii", 0, 0): return .string(scalars.map { $0.isASCII ? String($0).lowercased() : String($0) }.joined())
        case ("upperAscii", 0, 0): return .string(scalars.map { $0.isASCII ? String($0).uppercased() : String($0) }.joined())
        case ("trim", 0, 0): return .string(text.trimmingCharacters(in: .whitespacesAndNewlines))
        case ("split", 1, _):
            let parts = strings[0].isEmpty ? scalars.map { String($0) } : text.components(separatedBy: strings[0])
            let limit = integers.first ?? -1
            if limit == 0 { return .list([]) }
            if limit > 0, parts.count > limit {
                return .list((parts.prefix(limit - 1) + [parts.dropFirst(limit - 1).joined(separator: strings[0])]).map(CELValue.string))
            }
            return .list(parts.map(CELValue.string))
        case ("replace", 2, _):
            guard let limit = integers.first, limit >= 0 else { return .string(text.replacingOccurrences(of: strings[0], with: strings[1])) }
            var result = text, count = 0
            while count < limit, let range = result.range(of: strings[0]) {
                result.replaceSubrange(range, with: strings[1])
                count += 1
            }
            return .string(result)
        case ("substring", 0, 1...2):
            let start = integers[0], end = integers.count > 1 ? integers[1] : scalars.count
            guard start >= 0, end <= scalars.count, start <= end else { throw CELError("index out of range: \(start < 0 || start > scalars.count ? start : end)") }
            return .string(String(String.UnicodeScalarView(scalars[start..<end])))
        case ("indexOf", 1, 0...1), ("lastIndexOf", 1, 0...1):
            let needle = Array(strings[0].unicodeScalars)
            let positions = (0...max(scalars.count - needle.count, -1)).filter { Array(scalars[$0..<($0 + needle.count)]) == needle }
            return .int(Int64((function == "indexOf" ? positions.first : positions.last) ?? -1))
        default: throw CELError.noOverload(function, [.string(text)] + arguments)
        }
    }

    static func join(_ items: [CELValue], _ arguments: [CELValue]) throws(CELError) -> CELValue {
        let separator: String
        switch arguments.first {
        case nil: separator = ""
        case .string(let s)?: separator = s
        default: throw CELError.noOverload("join", [.list(items)] + arguments)
        }
        var parts: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw CELError.noOverload("join", [.list(items)] + arguments) }
            parts.append(s)
        }
        return .string(parts.joined(separator: separator))
    }

    static func list(_ function: String, _ items: [CELValue]) throws(CELError) -> CELValue {
        switch function {
        case "isSorted":
            for (a, b) in zip(items, items.dropFirst()) where try CELExpr.compare(a, b, "<=") > 0 { return .bool(false) }
            return .bool(true)
        case "sum":
            var total = CELValue.int(0)
            if case .double? = items.first { total = .double(0) }
            for item in items { total = try CELExpr.arithmetic("+", total, item) }
            return total
        default:
            guard var best = items.first else { throw CELError("\(function) called on an empty list") }
            for item in items.dropFirst() {
                let order = try CELExpr.compare(item, best, "<")
                if function == "min" ? order < 0 : order > 0 { best = item }
            }
            return best
        }
    }

    static func convert(_ function: String, _ value: CELValue) throws(CELError) -> CELValue {
        switch (function, value) {
        case ("dyn", _): return value
        case ("int", .int), ("uint", .uint), ("double", .double), ("string", .string), ("bool", .bool): return value
        case ("int", .uint(let u)): guard let i = Int64(exactly: u) else { throw CELError("integer overflow") }; return .int(i)
        case ("int", .double(let d)): guard let i = Int64(exactly: d.rounded(.towardZero)) else { throw CELError("integer overflow") }; return .int(i)
        case ("int", .string(let s)): guard let i = Int64(s) else { throw CELError("cannot convert \"\(s)\" to int") }; return .int(i)
        case ("uint", .int(let i)): guard let u = UInt64(exactly: i) else { throw CELError("unsigned integer overflow") }; return .uint(u)
        case ("uint", .string(let s)): guard let u = UInt64(s) else { throw CELError("cannot convert \"\(s)\" to uint") }; return .uint(u)
        case ("double", .int(let i)): return .double(Double(i))
        case ("double", .uint(let u)): return .double(Double(u))
        case ("double", .string(let s)): guard let d = Double(s) else { throw CELError("cannot convert \"\(s)\" to double") }; return .double(d)
        case ("string", .int(let i)): return .string(String(i))
        case ("string", .uint(let u)): return .string(String(u))
        case ("string", .double(let d)): return .string(String(d))
        case ("string", .bool(let b)): return .string(String(b))
        case ("string", .bytes(let b)): return .string(String(decoding: b, as: UTF8.self))
        case ("bool", .string(let s)):
            switch s {
            case "true", "True", "TRUE", "t", "1": return .bool(true)
            case "false", "False", "FALSE", "f", "0": return .bool(false)
            default: throw CELError("cannot convert \"\(s)\" to bool")
            }
        default: throw CELError.noOverload(function, [value])
        }
    }
}
