/// The Common Expression Language as Kubernetes' validation rules (`x-kubernetes-validations`) use it: a parser
/// from rule text to an expression tree, with CEL's precedence (`?:`, `||`, `&&`, relations and `in`, `+ -`,
/// `* / %`, unary `! -`, then member access, indexing and calls). Macros (`has`, `all`, `exists`,
/// `exists_one`, `map`, `filter`) are calls the evaluator expands. Pure.
public indirect enum CELExpr: Hashable, Sendable {
    case literal(CELValue)
    case identifier(String)
    case select(CELExpr, String)
    case index(CELExpr, CELExpr)
    case call(target: CELExpr?, function: String, arguments: [CELExpr])
    case unary(String, CELExpr)
    case binary(String, CELExpr, CELExpr)
    case conditional(CELExpr, CELExpr, CELExpr)
    case list([CELExpr])
    case map([CELExpr], [CELExpr])

    /// Whether the expression names `name` anywhere (a transition rule names `oldSelf`).
    public func mentions(_ name: String) -> Bool {
        switch self {
        case .literal: false
        case .identifier(let id): id == name
        case .select(let target, _), .unary(_, let target): target.mentions(name)
        case .index(let a, let b), .binary(_, let a, let b): a.mentions(name) || b.mentions(name)
        case .call(let target, _, let arguments): target?.mentions(name) == true || arguments.contains { $0.mentions(name) }
        case .conditional(let a, let b, let c): a.mentions(name) || b.mentions(name) || c.mentions(name)
        case .list(let items): items.contains { $0.mentions(name) }
        case .map(let keys, let values): (keys + values).contains { $0.mentions(name) }
        }
    }
}

/// Why a rule does not parse, where, as cel-go words a syntax error's position (`<input>:1:9`).
public struct CELSyntaxError: Error, Hashable, CustomStringConvertible {
    public let column: Int
    public let message: String
    public var description: String { "ERROR: <input>:1:\(column): Syntax error: \(message)" }
}

public struct CELParser {
    enum Token: Equatable {
        case identifier(String), int(Int64), uint(UInt64), double(Double), string(String), bytes([UInt8])
        case symbol(String), end
    }

    var tokens: [(token: Token, column: Int)] = []
    var position = 0

    /// The expression `text` stands for, or where and why it does not parse.
    public static func parse(_ text: String) throws(CELSyntaxError) -> CELExpr {
        var parser = CELParser()
        var lexer = CELLexer(text)
        parser.tokens = try lexer.tokens()
        let expression = try parser.expression()
        guard parser.peek == .end else { throw parser.error("extraneous input \(parser.describe(parser.peek))") }
        return expression
    }

    var peek: Token { tokens[position].token }

    func error(_ message: String) -> CELSyntaxError { CELSyntaxError(column: tokens[position].column, message: message) }

    func describe(_ token: Token) -> String {
        switch token {
        case .end: "'<EOF>'"
        case .symbol(let s), .identifier(let s): "'\(s)'"
        default: "a literal"
        }
    }

    mutating func take(_ symbol: String) -> Bool {
        guard peek == .symbol(symbol) else { return false }
        position += 1
        return true
    }

    mutating func expect(_ symbol: String) throws(CELSyntaxError) {
        guard take(symbol) else { throw error("mismatched input \(describe(peek)) expecting '\(symbol)'") }
    }

    mutating func expression() throws(CELSyntaxError) -> CELExpr {
        let condition = try binary(level: 0)
        guard take("?") else { return condition }
        let then = try binary(level: 0)
        try expect(":")
        return .conditional(condition, then, try expression())
    }

    static let levels: [[String]] = [["||"], ["&&"], ["<", "<=", ">", ">=", "==", "!=", "in"], ["+", "-"], ["*", "/", "%"]]

    mutating func binary(level: Int) throws(CELSyntaxError) -> CELExpr {
        guard level < Self.levels.count else { return try unary() }
        var left = try binary(level: level + 1)
        while true {
            let symbol: String? = switch peek {
            case .symbol(let s) where Self.levels[level].contains(s): s
            case .identifier("in") where level == 2: "in"
            default: nil
            }
            guard let symbol else { return left }
            position += 1
            left = .binary(symbol, left, try binary(level: level + 1))
        }
    }

    mutating func unary() throws(CELSyntaxError) -> CELExpr {
        if take("!") { return .unary("!", try unary()) }
        if take("-") {
            // A negative literal is one number (-9223372036854775808 fits only so).
            if case .int(let value) = peek { position += 1; return try member(.literal(.int(-value))) }
            if case .double(let value) = peek { position += 1; return try member(.literal(.double(-value))) }
            return .unary("-", try unary())
        }
        return try member(try primary())
    }

    mutating func member(_ start: CELExpr) throws(CELSyntaxError) -> CELExpr {
        var expression = start
        while true {
            if take(".") {
                guard case .identifier(let name) = peek else { throw error("mismatched input \(describe(peek)) expecting IDENTIFIER") }
                position += 1
                expression = take("(") ? .call(target: expression, function: name, arguments: try arguments(")")) : .select(expression, name)
            } else if take("[") {
                let index = try self.expression()
                try expect("]")
                expression = .index(expression, index)
            } else {
                return expression
            }
        }
    }

    mutating func arguments(_ closing: String) throws(CELSyntaxError) -> [CELExpr] {
        var items: [CELExpr] = []
        if take(closing) { return items }
        repeat {
            if peek == .symbol(closing) { break }  // a trailing comma
            items.append(try expression())
        } while take(",")
        try expect(closing)
        return items
    }

    mutating func primary() throws(CELSyntaxError) -> CELExpr {
        let token = peek
        position += 1
        switch token {
        case .int(let value): return .literal(.int(value))
        case .uint(let value): return .literal(.uint(value))
        case .double(let value): return .literal(.double(value))
        case .string(let value): return .literal(.string(value))
        case .bytes(let value): return .literal(.bytes(value))
        case .identifier("true"): return .literal(.bool(true))
        case .identifier("false"): return .literal(.bool(false))
        case .identifier("null"): return .literal(.null)
        case .identifier(let name):
            return take("(") ? .call(target: nil, function: name, arguments: try arguments(")")) : .identifier(name)
        case .symbol("("):
            let inner = try expression()
            try expect(")")
            return inner
        case .symbol("["): return .list(try arguments("]"))
        case .symbol("{"):
            var keys: [CELExpr] = [], values: [CELExpr] = []
            if !take("}") {
                repeat {
                    if peek == .symbol("}") { break }
                    keys.append(try expression())
                    try expect(":")
                    values.append(try expression())
                } while take(",")
                try expect("}")
            }
            return .map(keys, values)
        default:
            position -= 1
            throw error("mismatched input \(describe(token)) expecting an expression")
        }
    }
}
