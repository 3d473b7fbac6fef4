import Foundation

/// One expression of kubectl's JSONPath dialect (client-go's `util/jsonpath`), as CRDs' printer columns use
/// it: `.status.replicas`, `.metadata.labels['app.kubernetes.io/name']`, `.spec.ports[0].port`,
/// `.items[*].name`, `..name`, `.status.conditions[?(@.type=="Ready")].status`. Missing keys yield nothing
/// (the columns' `AllowMissingKeys`). Pure: parsed once, evaluated over `JSONValue`s.
public struct JSONPath: Sendable, Equatable {
    indirect enum Step: Sendable, Equatable {
        case field(String)
        case wildcard
        case recursive(String?)
        case index(Int)
        case slice(Int?, Int?)
        case filter(Filter)
    }

    struct Filter: Sendable, Equatable {
        enum Operator: String, Sendable { case equal = "==", notEqual = "!=", lessOrEqual = "<=", greaterOrEqual = ">=", less = "<", greater = ">" }
        var path: [Step]
        /// nil: the filter asks only that the path exists (`[?(@.ready)]`).
        var comparison: (op: Operator, literal: JSONValue)?

        static func == (a: Filter, b: Filter) -> Bool {
            a.path == b.path && a.comparison?.op == b.comparison?.op && a.comparison?.literal == b.comparison?.literal
        }
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    let steps: [Step]

    /// Parses an expression, with or without the braces of a template (`{.spec.replicas}`).
    public init(_ text: String) throws {
        var body = text.trimmingCharacters(in: .whitespaces)
        if body.hasPrefix("{") && body.hasSuffix("}") { body = String(body.dropFirst().dropLast()) }
        var scanner = Scanner(Array(body))
        steps = try scanner.steps(until: nil)
    }

    /// Every value the path reaches in `root`, in document order.
    public func results(in root: JSONValue) -> [JSONValue] { Self.evaluate(steps, [root]) }

    static func evaluate(_ steps: [Step], _ start: [JSONValue]) -> [JSONValue] {
        steps.reduce(start) { values, step in values.flatMap { apply(step, $0) } }
    }

    static func apply(_ step: Step, _ value: JSONValue) -> [JSONValue] {
        switch (step, value) {
        case (.field(let name), .object(let members)): return members[name].map { [$0] } ?? []
        case (.wildcard, .object(let members)): return members.keys.sorted().compactMap { members[$0] }
        case (.wildcard, .array(let items)): return items
        case (.recursive(let name), _): return descendants(value).flatMap { node in name.map { apply(.field($0), node) } ?? [node] }
        case (.index(let index), .array(let items)):
            let position = index < 0 ? items.count + index : index
            return items.indices.contains(position) ? [items[position]] : []
        case (.slice(let from, let to), .array(let items)):
            func clamp(_ bound: Int?, _ fallback: Int) -> Int {
                guard let bound else { return fallback }
                return Swift.max(0, Swift.min(items.count, bound < 0 ? items.count + bound : bound))
            }
            let lower = clamp(from, 0), upper = clamp(to, items.count)
            return lower < upper ? Array(items[lower..<upper]) : []
        case (.filter(let filter), .array(let items)): return items.filter { filter.matches($0) }
        case (.filter(let filter), .object): return filter.matches(value) ? [value] : []
        default: return []
        }
    }

    /// The value and everything under it, parents first (`..`).
    static func descendants(_ value: JSONValue) -> [JSONValue] {
        switch value {
        case .object(let members): [value] + members.keys.sorted().flatMap { descendants(members[$0]!) }
        case .array(let items): [value] + items.flatMap(descendants)
        default: [value]
        }
    }

    /// A value as kubectl prints a result: strings bare, numbers and booleans as Go prints them, objects and
    /// lists as compact JSON; nil for null, which client-go cannot print.
    public static func text(_ value: JSONValue) -> String? {
        switch value {
        case .null: return nil
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number):
            if number.rounded() == number, abs(number) < 1e21 { return String(Int64(number)) }
            return String(number)
        case .array, .object:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) }
        }
    }
}

extension JSONPath.Filter {
    func matches(_ item: JSONValue) -> Bool {
        let found = JSONPath.evaluate(path, [item])
        guard let comparison else { return !found.isEmpty }
        return found.contains { Self.compare($0, comparison.op, comparison.literal) }
    }

    static func compare(_ left: JSONValue, _ op: Operator, _ right: JSONValue) -> Bool {
        func number(_ value: JSONValue) -> Double? {
            switch value {
            case .int(let number): Double(number)
            case .double(let number): number
            default: nil
            }
        }
        if let a = number(left), let b = number(right) {
            switch op {
            case .equal: return a == b
            case .notEqual: return a != b
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            case .greaterOrEqual: return a >= b
            }
        }
        switch op {
        case .equal: return left == right
        case .notEqual: return left != right
        default:
            guard case .string(let a) = left, case .string(let b) = right else { return false }
            switch op {
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            default: return a >= b
            }
        }
    }
}

/// The parser: a cursor over the expression's characters.
private struct Scanner {
    let characters: [Character]
    var position = 0

    init(_ characters: [Character]) { self.characters = characters }

    var current: Character? { position < characters.count ? characters[position] : nil }

    func fail(_ message: String) -> JSONPath.ParseError {
        JSONPath.ParseError(description: "\(message) at position \(position) of \"\(String(characters))\"")
    }

    /// Steps up to `terminator` (a filter's closing parenthesis or operator) or the end.
    mutating func steps(until terminator: ((Character) -> Bool)?) throws -> [JSONPath.Step] {
        var steps: [JSONPath.Step] = []
        while let character = current, !(terminator?(character) ?? false) {
            switch character {
            case "." where position + 1 < characters.count && characters[position + 1] == ".":
                position += 2
                let name = fieldName()
                steps.append(.recursive(name.isEmpty || name == "*" ? nil : name))
            case ".":
                position += 1
                let name = fieldName()
                if name == "*" { steps.append(.wildcard) } else if !name.isEmpty { steps.append(.field(name)) }
            case "[":
                steps.append(try bracket())
            case "@", "$", " ":
                position += 1
            default:
                throw fail("unexpected \"\(character)\"")
            }
        }
        return steps
    }

    mutating func fieldName() -> String {
        var name = ""
        while let character = current, !".[]()=!<> ".contains(character) {
            name.append(character)
            position += 1
        }
        return name
    }

    mutating func bracket() throws -> JSONPath.Step {
        position += 1
        guard let close = characters[position...].firstIndex(of: "]") else { throw fail("unterminated [") }
        if current == "?" {
            position += 1
            guard current == "(" else { throw fail("a filter takes the form [?(...)]") }
            position += 1
            let filter = try self.filter()
            guard current == ")" else { throw fail("unterminated filter") }
            position += 1
            guard current == "]" else { throw fail("unterminated [") }
            position += 1
            return .filter(filter)
        }
        let inside = String(characters[position..<close]).trimmingCharacters(in: .whitespaces)
        position = close + 1
        if inside == "*" { return .wildcard }
        if let quote = inside.first, quote == "'" || quote == "\"", inside.count >= 2, inside.last == quote {
            return .field(String(inside.dropFirst().dropLast()))
        }
        if let index = Int(inside) { return .index(index) }
        let bounds = inside.split(separator: ":", omittingEmptySubsequences: false)
        if bounds.count == 2 || bounds.count == 3 {
            func bound(_ text: Substring) throws -> Int? {
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { return nil }
                guard let value = Int(trimmed) else { throw fail("invalid array bound \"\(trimmed)\"") }
                return value
            }
            return .slice(try bound(bounds[0]), try bound(bounds[1]))
        }
        throw fail("invalid array index \"\(inside)\"")
    }

    mutating func filter() throws -> JSONPath.Filter {
        skipSpaces()
        let path = try steps(until: { "=!<>)".contains($0) })
        skipSpaces()
        guard current != ")" else { return JSONPath.Filter(path: path, comparison: nil) }
        let operators: [JSONPath.Filter.Operator] = [.equal, .notEqual, .lessOrEqual, .greaterOrEqual, .less, .greater]
        guard let op = operators.first(where: { matches($0.rawValue) }) else { throw fail("unknown operator") }
        position += op.rawValue.count
        skipSpaces()
        let literal = try self.literal()
        skipSpaces()
        return JSONPath.Filter(path: path, comparison: (op, literal))
    }

    func matches(_ text: String) -> Bool {
        let end = position + text.count
        return end <= characters.count && String(characters[position..<end]) == text
    }

    mutating func skipSpaces() { while current == " " { position += 1 } }

    mutating func literal() throws -> JSONValue {
        if let quote = current, quote == "'" || quote == "\"" {
            position += 1
            guard let end = characters[position...].firstIndex(of: quote) else { throw fail("unterminated string") }
            defer { position = end + 1 }
            return .string(String(characters[position..<end]))
        }
        var text = ""
        while let character = current, character != ")", character != " " {
            text.append(character)
            position += 1
        }
        if text == "true" || text == "false" { return .bool(text == "true") }
        if let number = Int64(text) { return .int(number) }
        if let number = Double(text) { return .double(number) }
        throw fail("unrecognized literal \"\(text)\"")
    }
}
