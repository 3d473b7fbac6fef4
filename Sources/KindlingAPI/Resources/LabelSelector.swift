import KindlingAddresses

/// `spec.selector` of ReplicaSets and Deployments: matchLabels and matchExpressions, ANDed.
public struct LabelSelector: Codable, Hashable, Sendable {
    public struct Requirement: Codable, Hashable, Sendable {
        public var key: String
        public var `operator`: String
        public var values: [String]?

        public init(key: String, operator op: String, values: [String]? = nil) {
            self.key = key
            self.operator = op
            self.values = values
        }
    }

    public var matchLabels: [String: String]?
    public var matchExpressions: [Requirement]?

    public init(matchLabels: [String: String]? = nil, matchExpressions: [Requirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public var isEmpty: Bool { (matchLabels ?? [:]).isEmpty && (matchExpressions ?? []).isEmpty }

    /// The selector as a parsed `Selector` (what `-l` takes), for matching and printing.
    public var selector: Selector {
        var requirements = (matchLabels ?? [:]).sorted { $0.key < $1.key }.map {
            Selector.Requirement(key: $0.key, op: .equals, values: [$0.value])
        }
        for expression in matchExpressions ?? [] {
            let op: Selector.Operator
            switch expression.operator {
            case "In": op = .in
            case "NotIn": op = .notIn
            case "Exists": op = .exists
            default: op = .doesNotExist
            }
            requirements.append(Selector.Requirement(key: expression.key, op: op, values: expression.values ?? []))
        }
        return Selector(requirements: requirements)
    }

    public func matches(_ labels: [String: String]?) -> Bool { selector.matches(labels ?? [:]) }

    public func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (key, value) in (matchLabels ?? [:]).sorted(by: { $0.key < $1.key }) {
            errors += LabelValidation.keyProblems(key).map { .invalid("\(path).matchLabels", key, $0) }
            errors += LabelValidation.valueProblems(value).map { .invalid("\(path).matchLabels", value, $0) }
        }
        for (i, expression) in (matchExpressions ?? []).enumerated() {
            let p = "\(path).matchExpressions[\(i)]"
            errors += LabelValidation.keyProblems(expression.key).map { .invalid("\(p).key", expression.key, $0) }
            switch expression.operator {
            case "In", "NotIn":
                if (expression.values ?? []).isEmpty {
                    errors.append(.required("\(p).values", "must be specified when `operator` is 'In' or 'NotIn'"))
                }
            case "Exists", "DoesNotExist":
                if !(expression.values ?? []).isEmpty {
                    errors.append(.forbidden("\(p).values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
                }
            default:
                errors.append(.unsupported("\(p).operator", expression.operator, supported: ["In", "NotIn", "Exists", "DoesNotExist"]))
            }
        }
        return errors
    }
}

/// A parsed label selector as `-l` / `?labelSelector=` take it: `app=nginx,tier!=db,env in (a,b),!legacy`.
public struct Selector: Hashable, Sendable, CustomStringConvertible {
    public enum Operator: Hashable, Sendable { case equals, notEquals, `in`, notIn, exists, doesNotExist }

    public struct Requirement: Hashable, Sendable {
        public var key: String
        public var op: Operator
        public var values: [String]

        func matches(_ labels: [String: String]) -> Bool {
            let value = labels[key]
            switch op {
            case .equals, .in: return value.map(values.contains) ?? false
            case .notEquals, .notIn: return value.map { !values.contains($0) } ?? true
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            }
        }

        var text: String {
            switch op {
            case .equals: "\(key)=\(values.first ?? "")"
            case .notEquals: "\(key)!=\(values.first ?? "")"
            case .in: "\(key) in (\(values.joined(separator: ",")))"
            case .notIn: "\(key) notin (\(values.joined(separator: ",")))"
            case .exists: key
            case .doesNotExist: "!\(key)"
            }
        }
    }

    public var requirements: [Requirement]

    public init(requirements: [Requirement] = []) { self.requirements = requirements }

    public static let everything = Selector()

    public func matches(_ labels: [String: String]) -> Bool { requirements.allSatisfy { $0.matches(labels) } }

    public var description: String { requirements.map(\.text).joined(separator: ",") }

    public struct ParseError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Parses the string form. An empty string selects everything.
    public init(parsing text: String) throws {
        var requirements: [Requirement] = []
        var rest = Substring(text)
        func skipSpaces() { rest = rest.drop(while: { $0 == " " }) }
        func readKey() -> String {
            skipSpaces()
            let key = rest.prefix { !"=!,() ".contains($0) }
            rest = rest.dropFirst(key.count)
            return String(key)
        }
        func fail(_ why: String) -> ParseError {
            ParseError(message: "unable to parse requirement: \(why)")
        }
        skipSpaces()
        while !rest.isEmpty {
            skipSpaces()
            var requirement: Requirement
            if rest.first == "!" {
                rest = rest.dropFirst()
                let key = readKey()
                guard !key.isEmpty else { throw fail("found '\(rest.first.map(String.init) ?? "")', expected: identifier") }
                requirement = Requirement(key: key, op: .doesNotExist, values: [])
            } else {
                let key = readKey()
                guard !key.isEmpty else { throw fail("found '\(rest.first.map(String.init) ?? "")', expected: identifier") }
                skipSpaces()
                if rest.hasPrefix("!=") || rest.hasPrefix("==") || rest.hasPrefix("=") {
                    let op: Operator = rest.hasPrefix("!=") ? .notEquals : .equals
                    rest = rest.dropFirst(rest.hasPrefix("=") && !rest.hasPrefix("==") ? 1 : 2)
                    skipSpaces()
                    let value = rest.prefix { !", ()".contains($0) }
                    rest = rest.dropFirst(value.count)
                    requirement = Requirement(key: key, op: op, values: [String(value)])
                } else if rest.hasPrefix("in ") || rest.hasPrefix("in(") || rest.hasPrefix("notin ") || rest.hasPrefix("notin(") {
                    let op: Operator = rest.hasPrefix("in") ? .in : .notIn
                    rest = rest.dropFirst(op == .in ? 2 : 5)
                    skipSpaces()
                    guard rest.first == "(" else { throw fail("found '\(rest.first.map(String.init) ?? "")', expected: '('") }
                    rest = rest.dropFirst()
                    guard let close = rest.firstIndex(of: ")") else { throw fail("found '', expected: ')'") }
                    let values = rest[..<close].split(separator: ",").map { $0.trimmingCharacters(in: " ") }
                    rest = rest[rest.index(after: close)...]
                    requirement = Requirement(key: key, op: op, values: values.filter { !$0.isEmpty })
                } else if rest.isEmpty || rest.first == "," {
                    requirement = Requirement(key: key, op: .exists, values: [])
                } else {
                    throw fail("found '\(rest.prefix(1))', expected: in, notin, =, ==, !=, gt, lt")
                }
            }
            for problem in LabelValidation.keyProblems(requirement.key) {
                throw fail("key \"\(requirement.key)\": \(problem)")
            }
            if requirement.op == .equals || requirement.op == .notEquals || requirement.op == .in || requirement.op == .notIn {
                for value in requirement.values {
                    if let problem = LabelValidation.valueProblems(value).first {
                        throw fail("value \"\(value)\": \(problem)")
                    }
                }
            }
            requirements.append(requirement)
            skipSpaces()
            if rest.first == "," {
                rest = rest.dropFirst()
                skipSpaces()
                if rest.isEmpty { throw fail("found '', expected: identifier after ','") }
            } else if !rest.isEmpty {
                throw fail("found '\(rest.prefix(1))', expected: ','")
            }
        }
        self.requirements = requirements
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
