import Foundation

/// `x-kubernetes-validations`: CEL rules on a schema node, as apiextensions runs them. Each rule sees the value
/// as `self` (and, for a transition rule, the value before an update as `oldSelf`: such rules are skipped on
/// create and where there was no old value); a rule that is false reports its message (or `failed rule:
/// <rule>`) at the node, or at its `fieldPath`, with the error type its `reason` names; one that cannot be
/// evaluated reports why. A rule that does not parse keeps its CRD from being accepted.
extension CustomResourceSchema {
    public struct Rule: Hashable, Sendable {
        public let rule: String
        public let message: String?
        /// A CEL expression whose string value is the message, when it has one.
        public let messageExpression: Result<CELExpr, CELSyntaxError>?
        public let reason: String?
        public let fieldPath: String?
        public let optionalOldSelf: Bool
        public let program: Result<CELExpr, CELSyntaxError>

        init?(_ value: JSONValue) {
            guard case .object(let members) = value, case .string(let rule)? = members["rule"] else { return nil }
            func string(_ key: String) -> String? { if case .string(let text)? = members[key] { text } else { nil } }
            self.rule = rule
            message = string("message")
            reason = string("reason")
            fieldPath = string("fieldPath")
            if case .bool(let flag)? = members["optionalOldSelf"] { optionalOldSelf = flag } else { optionalOldSelf = false }
            do { program = .success(try CELParser.parse(rule)) } catch { program = .failure(error) }
            messageExpression = string("messageExpression").map { text in Result { () throws(CELSyntaxError) in try CELParser.parse(text) } }
        }

        var isTransition: Bool { if case .success(let expression) = program { expression.mentions("oldSelf") } else { false } }
    }

    static let reasons = ["FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"]

    /// What keeps a node's rules from being accepted, in apiextensions' words.
    static func ruleErrors(_ node: Node, path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (index, rule) in node.rules.enumerated() {
            let at = "\(path).x-kubernetes-validations[\(index)]"
            if case .failure(let error) = rule.program { errors.append(.invalid("\(at).rule", rule.rule, "compilation failed: \(error)")) }
            if case .failure(let error)? = rule.messageExpression {
                errors.append(FieldError(.invalid, field: "\(at).messageExpression", value: nil, detail: "messageExpression compilation failed: \(error)"))
            }
            if let reason = rule.reason, !reasons.contains(reason) { errors.append(.unsupported("\(at).reason", reason, supported: reasons)) }
            if let fieldPath = rule.fieldPath, !fieldPath.hasPrefix(".") && !fieldPath.hasPrefix("[") {
                errors.append(.invalid("\(at).fieldPath", fieldPath, "fieldPath must be a valid path"))
            }
        }
        return errors
    }

    /// The failures of the node's rules for `value` (`old` its value before an update, if any).
    static func evaluateRules(_ node: Node, _ value: Any, old: Any?, path: String, into found: inout [FieldError]) {
        guard !node.rules.isEmpty else { return }
        let field = path.isEmpty ? "<root>" : path
        let typeName = quoted(node.type ?? typeName(value))
        var variables = ["self": CELValue(foundation: value)]
        if let old { variables["oldSelf"] = CELValue(foundation: old) }
        for rule in node.rules {
            guard case .success(let program) = rule.program else { continue }
            if rule.isTransition && old == nil && !rule.optionalOldSelf { continue }
            let result: CELValue
            do {
                result = try program.evaluate(variables)
            } catch {
                found.append(FieldError(.invalid, field: field, value: typeName, detail: "\(error) evaluating rule: \(rule.rule)"))
                continue
            }
            guard result != .bool(true) else { continue }
            var at = field
            if let fieldPath = rule.fieldPath, !fieldPath.isEmpty {
                at = path + (fieldPath.hasPrefix("[") || path.isEmpty ? String(fieldPath.drop { $0 == "." && path.isEmpty }) : fieldPath)
            }
            var detail = rule.message.map { $0.trimmingCharacters(in: .whitespaces) } ?? "failed rule: \(rule.rule)"
            // A messageExpression's string wins; one that fails or is empty leaves the message.
            if case .success(let expression)? = rule.messageExpression, case .string(let text)? = try? expression.evaluate(variables),
               !text.trimmingCharacters(in: .whitespaces).isEmpty {
                detail = text
            }
            switch rule.reason {
            case "FieldValueForbidden": found.append(.forbidden(at, detail))
            case "FieldValueRequired": found.append(.required(at, detail))
            case "FieldValueDuplicate": found.append(FieldError(.duplicate, field: at, value: typeName))
            default: found.append(FieldError(.invalid, field: at, value: typeName, detail: detail))
            }
        }
    }
}
