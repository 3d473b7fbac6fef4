import Foundation

/// Evaluating CEL expressions over values: CEL's operators (overflow-checked integers, `&&` and `||` that
/// absorb an error the other side decides, `in`), its macros (`has`, `all`, `exists`, `exists_one`, `map`,
/// `filter`), and the string, list and conversion functions Kubernetes' validation rules use. Pure.
extension CELExpr {
    public func evaluate(_ variables: [String: CELValue]) throws(CELError) -> CELValue {
        switch self {
        case .literal(let value): return value
        case .identifier(let name):
            guard let value = variables[name] else { throw CELError("undeclared reference to '\(name)'") }
            return value
        case .select(let target, let field): return try Self.member(try target.evaluate(variables), field)
        case .index(let target, let index): return try Self.index(try target.evaluate(variables), try index.evaluate(variables))
        case .list(let items): return .list(try items.map { (item) throws(CELError) in try item.evaluate(variables) })
        case .map(let keys, let values):
            var members: [CELValue: CELValue] = [:]
            for (key, value) in zip(keys, values) { members[try key.evaluate(variables)] = try value.evaluate(variables) }
            return .map(members)
        case .conditional(let condition, let then, let otherwise):
            guard case .bool(let chosen) = try condition.evaluate(variables) else { throw CELError("no such overload: _?_:_") }
            return try (chosen ? then : otherwise).evaluate(variables)
        case .unary(let op, let operand):
            switch (op, try operand.evaluate(variables)) {
            case ("!", .bool(let b)): return .bool(!b)
            case ("-", .int(let i)):
                guard i != .min else { throw CELError("integer overflow") }
                return .int(-i)
            case ("-", .double(let d)): return .double(-d)
            case (_, let value): throw CELError.noOverload(op == "!" ? "!_" : "-_", [value])
            }
        case .binary("&&", let a, let b): return try Self.logical(a, b, variables, decisive: false)
        case .binary("||", let a, let b): return try Self.logical(a, b, variables, decisive: true)
        case .binary(let op, let a, let b): return try Self.binary(op, try a.evaluate(variables), try b.evaluate(variables))
        case .call(let target, let function, let arguments):
            if let result = try macro(target, function, arguments, variables) { return result }
            let receiver = try target?.evaluate(variables)
            return try CELFunctions.call(function, receiver, try arguments.map { (argument) throws(CELError) in try argument.evaluate(variables) })
        }
    }

    static func member(_ value: CELValue, _ field: String) throws(CELError) -> CELValue {
        guard case .map(let members) = value else { throw CELError("no such key: \(field)") }
        guard let found = members[.string(field)] else { throw CELError("no such key: \(field)") }
        return found
    }

    static func index(_ value: CELValue, _ key: CELValue) throws(CELError) -> CELValue {
        switch (value, key) {
        case (.list(let items), _):
            guard let position = key.numeric, position == position.rounded() else { throw CELError.noOverload("_[_]", [value, key]) }
            guard position >= 0, Int(position) < items.count else { throw CELError("index out of range: \(Int(position))") }
            return items[Int(position)]
        case (.map(let members), _):
            guard let found = members[key] ?? members.first(where: { $0.key.equals(key) })?.value else { throw CELError("no such key: \(key)") }
            return found
        default: throw CELError.noOverload("_[_]", [value, key])
        }
    }

    /// `&&` and `||`: the side that decides wins, even over an error on the other side (CEL's commutative logic).
    static func logical(_ a: CELExpr, _ b: CELExpr, _ variables: [String: CELValue], decisive: Bool) throws(CELError) -> CELValue {
        var failure: CELError?
        var sawOther = false
        for side in [a, b] {
            do {
                switch try side.evaluate(variables) {
                case .bool(decisive): return .bool(decisive)
                case .bool: sawOther = true
                case let other: failure = failure ?? CELError.noOverload(decisive ? "_||_" : "_&&_", [other])
                }
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        precondition(sawOther)
        return .bool(!decisive)
    }

    static func binary(_ op: String, _ a: CELValue, _ b: CELValue) throws(CELError) -> CELValue {
        switch op {
        case "==": return .bool(a.equals(b))
        case "!=": return .bool(!a.equals(b))
        case "<", "<=", ">", ">=":
            let order = try compare(a, b, op)
            return .bool(op == "<" ? order < 0 : op == "<=" ? order <= 0 : op == ">" ? order > 0 : order >= 0)
        case "in":
            switch b {
            case .list(let items): return .bool(items.contains { $0.equals(a) })
            case .map(let members): return .bool(members.keys.contains { $0.equals(a) })
            default: throw CELError.noOverload("@in", [a, b])
            }
        default: return try arithmetic(op, a, b)
        }
    }

    static func compare(_ a: CELValue, _ b: CELValue, _ op: String) throws(CELError) -> Int {
        if let x = a.numeric, let y = b.numeric { return x < y ? -1 : x > y ? 1 : 0 }
        switch (a, b) {
        case (.string(let x), .string(let y)): return x < y ? -1 : x > y ? 1 : 0
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.bytes(let x), .bytes(let y)): return x.lexicographicallyPrecedes(y) ? -1 : x == y ? 0 : 1
        default: throw CELError.noOverload("_\(op)_", [a, b])
        }
    }

    static func arithmetic(_ op: String, _ a: CELValue, _ b: CELValue) throws(CELError) -> CELValue {
        switch (a, b) {
        case (.int(let x), .int(let y)): return .int(try integer(op, x, y, overflow: "integer overflow", a, b))
        case (.uint(let x), .uint(let y)): return .uint(try integer(op, x, y, overflow: "unsigned integer overflow", a, b))
        case (.double(let x), .double(let y)):
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/": return .double(x / y)
            default: throw CELError.noOverload("_\(op)_", [a, b])
            }
        case (.string(let x), .string(let y)) where op == "+": return .string(x + y)
        case (.bytes(let x), .bytes(let y)) where op == "+": return .bytes(x + y)
        case (.list(let x), .list(let y)) where op == "+": return .list(x + y)
        default: throw CELError.noOverload("_\(op)_", [a, b])
        }
    }

    /// Integer arithmetic, an overflow an error as in CEL (signed and unsigned alike).
    static func integer<T: FixedWidthInteger>(_ op: String, _ x: T, _ y: T, overflow message: String,
                                              _ a: CELValue, _ b: CELValue) throws(CELError) -> T {
        if (op == "/" || op == "%") && y == 0 { throw CELError(op == "/" ? "division by zero" : "modulus by zero") }
        let (value, overflow): (T, Bool) = switch op {
        case "+": x.addingReportingOverflow(y)
        case "-": x.subtractingReportingOverflow(y)
        case "*": x.multipliedReportingOverflow(by: y)
        case "/": x.dividedReportingOverflow(by: y)
        case "%": x.remainderReportingOverflow(dividingBy: y)
        default: throw CELError.noOverload("_\(op)_", [a, b])
        }
        if overflow { throw CELError(message) }
        return value
    }

    /// `has(x.f)` and the comprehensions over a list's items or a map's keys; nil for any other call.
    func macro(_ target: CELExpr?, _ function: String, _ arguments: [CELExpr],
               _ variables: [String: CELValue]) throws(CELError) -> CELValue? {
        if target == nil, function == "has" {
            guard arguments.count == 1, case .select(let object, let field) = arguments[0] else {
                throw CELError("invalid argument to has() macro")
            }
            guard case .map(let members) = try object.evaluate(variables) else { throw CELError("invalid type for field selection") }
            return .bool(members[.string(field)] != nil)
        }
        guard let target, ["all", "exists", "exists_one", "map", "filter"].contains(function), arguments.count >= 2,
              case .identifier(let name) = arguments[0] else { return nil }
        let elements: [CELValue] = switch try target.evaluate(variables) {
        case .list(let items): items
        case .map(let members): Array(members.keys)
        case let other: throw CELError.noOverload(function, [other])
        }
        var scope = variables
        func test(_ expression: CELExpr, _ element: CELValue) throws(CELError) -> CELValue {
            scope[name] = element
            return try expression.evaluate(scope)
        }
        func truth(_ expression: CELExpr, _ element: CELValue) throws(CELError) -> Bool {
            guard case .bool(let result) = try test(expression, element) else { throw CELError.noOverload(function, [element]) }
            return result
        }
        switch function {
        case "all", "exists":
            let decisive = function == "exists"
            var failure: CELError?
            for element in elements {
                do {
                    if try truth(arguments[1], element) == decisive { return .bool(decisive) }
                } catch {
                    failure = failure ?? error
                }
            }
            if let failure { throw failure }
            return .bool(!decisive)
        case "exists_one":
            var count = 0
            for element in elements where try truth(arguments[1], element) { count += 1 }
            return .bool(count == 1)
        case "filter":
            var kept: [CELValue] = []
            for element in elements where try truth(arguments[1], element) { kept.append(element) }
            return .list(kept)
        default:
            var mapped: [CELValue] = []
            for element in elements {
                if arguments.count == 3, try !truth(arguments[1], element) { continue }
                mapped.append(try test(arguments[arguments.count - 1], element))
            }
            return .list(mapped)
        }
    }
}
