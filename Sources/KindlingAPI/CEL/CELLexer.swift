/// CEL's tokens: identifiers, numbers (decimal and hex integers, `u` unsigned, doubles with a point or an
/// exponent), strings (single, double or triple quoted; `r` raw; `b` bytes; C-like escapes) and symbols.
struct CELLexer {
    let scalars: [Unicode.Scalar]
    var index = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    static let symbols = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", ".", ",", "(", ")", "[", "]", "{", "}"]

    var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }
    func at(_ offset: Int) -> Unicode.Scalar? { index + offset < scalars.count ? scalars[index + offset] : nil }

    mutating func tokens() throws(CELSyntaxError) -> [(token: CELParser.Token, column: Int)] {
        var tokens: [(token: CELParser.Token, column: Int)] = []
        while true {
            while let c = current, c.properties.isWhitespace { index += 1 }
            let column = index + 1
            guard let c = current else {
                tokens.append((.end, column))
                return tokens
            }
            if c == "/" && at(1) == "/" {
                while let next = current, next != "\n" { index += 1 }
                continue
            }
            let quote = c == "\"" || c == "'"
            let prefixed = (c == "r" || c == "R" || c == "b" || c == "B") && (at(1) == "\"" || at(1) == "'")
            if quote || prefixed {
                tokens.append((try string(), column))
            } else if c.properties.numericType != nil && c.isASCII || (c == "." && at(1).map { $0.isASCII && $0.properties.numericType != nil } == true) {
                tokens.append((try number(column), column))
            } else if c == "_" || c.isASCII && c.properties.isAlphabetic {
                var name = ""
                while let next = current, next == "_" || next.isASCII && (next.properties.isAlphabetic || next.properties.numericType != nil) {
                    name.unicodeScalars.append(next)
                    index += 1
                }
                tokens.append((.identifier(name), column))
            } else if let symbol = Self.symbols.first(where: { matches($0) }) {
                index += symbol.unicodeScalars.count
                tokens.append((.symbol(symbol), column))
            } else {
                throw CELSyntaxError(column: column, message: "token recognition error at: '\(c)'")
            }
        }
    }

    func matches(_ symbol: String) -> Bool {
        symbol.unicodeScalars.enumerated().allSatisfy { at($0.offset) == $0.element }
    }

    mutating func number(_ column: Int) throws(CELSyntaxError) -> CELParser.Token {
        var text = ""
        if current == "0", at(1) == "x" || at(1) == "X" {
            index += 2
            while let c = current, c.properties.isASCIIHexDigit { text.unicodeScalars.append(c); index += 1 }
            if current == "u" || current == "U" { index += 1; if let value = UInt64(text, radix: 16) { return .uint(value) } }
            if let value = Int64(text, radix: 16) { return .int(value) }
            throw CELSyntaxError(column: column, message: "invalid int literal")
        }
        var isDouble = false
        while let c = current, c.isASCII && c.properties.numericType != nil || c == "." && !isDouble && at(1).map({ $0.isASCII && $0.properties.numericType != nil }) == true
            || (c == "e" || c == "E") {
            if c == "." || c == "e" || c == "E" { isDouble = true }
            text.unicodeScalars.append(c)
            index += 1
            if (c == "e" || c == "E"), let sign = current, sign == "+" || sign == "-" { text.unicodeScalars.append(sign); index += 1 }
        }
        if isDouble {
            guard let value = Double(text) else { throw CELSyntaxError(column: column, message: "invalid double literal") }
            return .double(value)
        }
        if current == "u" || current == "U" {
            index += 1
            guard let value = UInt64(text) else { throw CELSyntaxError(column: column, message: "invalid uint literal") }
            return .uint(value)
        }
        guard let value = Int64(text) else { throw CELSyntaxError(column: column, message: "invalid int literal") }
        return .int(value)
    }

    mutating func string() throws(CELSyntaxError) -> CELParser.Token {
        let column = index + 1
        var raw = false, bytes = false
        while let c = current, c != "\"" && c != "'" {
            if c == "r" || c == "R" { raw = true }
            if c == "b" || c == "B" { bytes = true }
            index += 1
        }
        let quote = current!
        let triple = at(1) == quote && at(2) == quote
        index += triple ? 3 : 1
        var value = ""
        while true {
            guard let c = current else { throw CELSyntaxError(column: column, message: "token recognition error: unterminated string") }
            if c == quote && (!triple || at(1) == quote && at(2) == quote) {
                index += triple ? 3 : 1
                break
            }
            if c == "\n" && !triple { throw CELSyntaxError(column: column, message: "token recognition error: newline in string") }
            index += 1
            guard c == "\\" && !raw, let escaped = current else {
                value.unicodeScalars.append(c)
                continue
            }
            index += 1
            switch escaped {
            case "n": value += "\n"
            case "t": value += "\t"
            case "r": value += "\r"
            case "a": value += "\u{07}"
            case "b": value += "\u{08}"
            case "f": value += "\u{0C}"
            case "v": value += "\u{0B}"
            case "\\", "'", "\"", "`", "?": value.unicodeScalars.append(escaped)
            case "x", "u", "U":
                let count = escaped == "x" ? 2 : escaped == "u" ? 4 : 8
                var hex = ""
                for _ in 0..<count { if let h = current { hex.unicodeScalars.append(h); index += 1 } }
                guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                    throw CELSyntaxError(column: column, message: "invalid escape sequence")
                }
                value.unicodeScalars.append(scalar)
            default: throw CELSyntaxError(column: column, message: "invalid escape sequence '\\\(escaped)'")
            }
        }
        return bytes ? .bytes(Array(value.utf8)) : .string(value)
    }
}
