/// Kubernetes' name and label rules (apimachinery's validation package), with its wording.
public enum LabelValidation {
    static let qualifiedNameMaxLength = 63
    static let subdomainMaxLength = 253

    static func isAlnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
    static func isQualifiedNamePart(_ s: Substring) -> Bool {
        guard let first = s.first, let last = s.last, isAlnum(first), isAlnum(last) else { return false }
        return s.allSatisfy { isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    public static func keyProblems(_ key: String) -> [String] {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        var problems: [String] = []
        let name: Substring
        switch parts.count {
        case 1: name = parts[0]
        case 2:
            name = parts[1]
            if parts[0].isEmpty {
                problems.append("prefix part must be non-empty")
            } else {
                problems += dns1123SubdomainProblems(String(parts[0])).map { "prefix part " + $0 }
            }
        default:
            return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            problems.append("name part must be non-empty")
        } else {
            if name.count > qualifiedNameMaxLength {
                problems.append("name part must be no more than \(qualifiedNameMaxLength) characters")
            }
            if !isQualifiedNamePart(name) {
                problems.append("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
            }
        }
        return problems
    }

    public static func valueProblems(_ value: String) -> [String] {
        var problems: [String] = []
        if value.count > qualifiedNameMaxLength {
            problems.append("must be no more than \(qualifiedNameMaxLength) characters")
        }
        if !value.isEmpty && !isQualifiedNamePart(Substring(value)) {
            problems.append("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
        }
        return problems
    }

    static func isDNS1123Label(_ s: Substring) -> Bool {
        guard let first = s.first, let last = s.last else { return false }
        let ok: (Character) -> Bool = { $0.isASCII && ($0.isLowercase || $0.isNumber) }
        return ok(first) && ok(last) && s.allSatisfy { ok($0) || $0 == "-" }
    }

    public static func dns1123LabelProblems(_ s: String) -> [String] {
        var problems: [String] = []
        if s.count > 63 { problems.append("must be no more than 63 characters") }
        if !isDNS1123Label(Substring(s)) {
            problems.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
        }
        return problems
    }

    /// Service names: a DNS-1035 label (it must start with a letter, as it becomes an environment variable's prefix).
    public static func dns1035LabelProblems(_ s: String) -> [String] {
        var problems: [String] = []
        if s.count > 63 { problems.append("must be no more than 63 characters") }
        if !isDNS1123Label(Substring(s)) || !(s.first?.isLetter ?? false) {
            problems.append("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
        }
        return problems
    }

    public static func dns1123SubdomainProblems(_ s: String) -> [String] {
        var problems: [String] = []
        if s.count > subdomainMaxLength { problems.append("must be no more than \(subdomainMaxLength) characters") }
        if s.isEmpty || !s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDNS1123Label) {
            problems.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
        }
        return problems
    }
}
