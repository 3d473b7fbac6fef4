import Foundation
import KindlingAddresses

/// apiextensions' validation of a CustomResourceDefinition, in its words: names, group, scope, versions,
/// schemas, scale paths and printer columns on every write; group and plural (and, once established, scope and
/// kind) immutable on update; each schema structural (`CustomResourceSchema`).
enum CRDValidation {
    static func errors(of crd: CustomResourceDefinition, old: CustomResourceDefinition?) -> [FieldError] {
        let spec = crd.spec
        var errors: [FieldError] = []
        if let name = crd.metadata.name, !name.isEmpty, name != "\(spec.names.plural).\(spec.group)" {
            errors.append(.invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"))
        }
        errors += groupErrors(spec.group)
        errors += approvalErrors(crd, old: old)
        switch spec.scope {
        case "": errors.append(.required("spec.scope"))
        case "Cluster", "Namespaced": break
        default: errors.append(.unsupported("spec.scope", spec.scope, supported: ["Cluster", "Namespaced"]))
        }
        errors += namesErrors(spec.names, path: "spec.names")
        if let accepted = crd.status?.acceptedNames { errors += namesErrors(accepted, path: "status.acceptedNames", required: false) }
        errors += versionsErrors(spec.versions)
        if spec.preserveUnknownFields == true {
            errors.append(FieldError(.invalid, field: "spec.preserveUnknownFields", value: "true",
                                     detail: "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"))
        }
        if let conversion = spec.conversion {
            if conversion.strategy.isEmpty {
                errors.append(.required("spec.conversion.strategy"))
            } else if conversion.strategy != "None" {
                // A webhook would be a process kindling would have to reach; it serves only `None`.
                errors.append(.unsupported("spec.conversion.strategy", conversion.strategy, supported: ["None"]))
            }
        }
        if let old {
            if old.spec.group != spec.group { errors.append(.invalid("spec.group", spec.group, "field is immutable")) }
            if old.spec.names.plural != spec.names.plural { errors.append(.invalid("spec.names.plural", spec.names.plural, "field is immutable")) }
            if old.isEstablished {
                if old.spec.scope != spec.scope { errors.append(.invalid("spec.scope", spec.scope, "field is immutable")) }
                if old.spec.names.kind != spec.names.kind { errors.append(.invalid("spec.names.kind", spec.names.kind, "field is immutable")) }
            }
        }
        return errors
    }

    /// A CRD of a protected group needs the approval annotation, checked when it is set or changed.
    static func approvalErrors(_ crd: CustomResourceDefinition, old: CustomResourceDefinition?) -> [FieldError] {
        let key = APIApproval.annotation, value = crd.metadata.annotations?[key] ?? ""
        if let old, (old.metadata.annotations?[key] ?? "") == value { return [] }
        let field = "metadata.annotations[\(key)]"
        switch APIApproval.state(group: crd.spec.group, annotations: crd.metadata.annotations) {
        case .missing: return [.required(field, APIApproval.missingMessage)]
        case .invalid: return [.invalid(field, value, APIApproval.invalidMessage)]
        case .unprotected, .bypassed, .approved: return []
        }
    }

    static func groupErrors(_ group: String) -> [FieldError] {
        if group.isEmpty { return [.required("spec.group")] }
        let problems = LabelValidation.dns1123SubdomainProblems(group)
        if !problems.isEmpty { return [.invalid("spec.group", group, problems.joined(separator: ","))] }
        if group.split(separator: ".").count < 2 { return [.invalid("spec.group", group, "should be a domain with at least one dot")] }
        return []
    }

    static func namesErrors(_ names: CustomResourceDefinition.Names, path: String, required: Bool = true) -> [FieldError] {
        var errors: [FieldError] = []
        func label(_ field: String, _ value: String) {
            let problems = LabelValidation.dns1035LabelProblems(value)
            if !problems.isEmpty { errors.append(.invalid("\(path).\(field)", value, problems.joined(separator: ","))) }
        }
        func kindLike(_ field: String, _ value: String) {
            let problems = LabelValidation.dns1035LabelProblems(value.lowercased())
            if !problems.isEmpty {
                errors.append(.invalid("\(path).\(field)", value, "may have mixed case, but should otherwise match: " + problems.joined(separator: ",")))
            }
        }
        for (field, value) in [("plural", names.plural), ("singular", names.singular ?? ""), ("kind", names.kind), ("listKind", names.listKind ?? "")] {
            if value.isEmpty {
                if required { errors.append(.required("\(path).\(field)")) }
                continue
            }
            if field == "kind" || field == "listKind" { kindLike(field, value) } else { label(field, value) }
        }
        for (index, short) in (names.shortNames ?? []).enumerated() { label("shortNames[\(index)]", short) }
        for (index, category) in (names.categories ?? []).enumerated() { label("categories[\(index)]", category) }
        if !names.kind.isEmpty, names.kind == names.listKind {
            errors.append(.invalid("\(path).listKind", names.listKind ?? "", "kind and listKind may not be the same"))
        }
        return errors
    }

    static func versionsErrors(_ versions: [CustomResourceDefinition.Version]) -> [FieldError] {
        var errors: [FieldError] = []
        if versions.filter(\.storage).count != 1 {
            errors.append(FieldError(.invalid, field: "spec.versions", value: versionsValue(versions),
                                     detail: "must have exactly one version marked as storage version"))
        }
        if Set(versions.map(\.name)).count != versions.count {
            errors.append(FieldError(.invalid, field: "spec.versions", value: versionsValue(versions), detail: "must contain unique version names"))
        }
        for (index, version) in versions.enumerated() {
            let path = "spec.versions[\(index)]"
            let problems = LabelValidation.dns1035LabelProblems(version.name)
            if !problems.isEmpty { errors.append(.invalid("\(path).name", version.name, problems.joined(separator: ","))) }
            if let schema = version.schema?.openAPIV3Schema {
                errors += CustomResourceSchema(schema).structuralErrors(path: "\(path).schema.openAPIV3Schema")
            } else {
                errors.append(.required("\(path).schema.openAPIV3Schema"))
            }
            if let scale = version.subresources?.scale { errors += scaleErrors(scale, path: "\(path).subresources.scale") }
            for (column, printer) in (version.additionalPrinterColumns ?? []).enumerated() {
                errors += columnErrors(printer, path: "\(path).additionalPrinterColumns[\(column)]")
            }
            if version.deprecationWarning != nil, version.deprecated != true {
                errors.append(.invalid("\(path).deprecationWarning", version.deprecationWarning ?? "", "can only be set for deprecated versions"))
            }
        }
        return errors
    }

    /// The versions as Go's `%#v` would show them is long; Kubernetes shows the list, and so does this: names only.
    static func versionsValue(_ versions: [CustomResourceDefinition.Version]) -> String {
        "[" + versions.map { "\"\($0.name)\"" }.joined(separator: ", ") + "]"
    }

    /// apiextensions asks no more of a column's or scale's JSONPath than a leading dot.
    static func isSimplePath(_ path: String) -> Bool { path.hasPrefix(".") }

    static func scaleErrors(_ scale: CustomResourceDefinition.Scale, path: String) -> [FieldError] {
        var errors: [FieldError] = []
        func check(_ field: String, _ value: String?, under prefixes: [String], _ message: String) {
            guard let value, !value.isEmpty else {
                if field != "labelSelectorPath" { errors.append(.required("\(path).\(field)")) }
                return
            }
            if !isSimplePath(value) {
                errors.append(.invalid("\(path).\(field)", value, "must be a simple json path starting with ."))
            } else if !prefixes.contains(where: value.hasPrefix) {
                errors.append(.invalid("\(path).\(field)", value, message))
            }
        }
        check("specReplicasPath", scale.specReplicasPath, under: [".spec."], "should be a json path under .spec")
        check("statusReplicasPath", scale.statusReplicasPath, under: [".status."], "should be a json path under .status")
        check("labelSelectorPath", scale.labelSelectorPath, under: [".spec.", ".status."], "should be a json path under either .spec or .status")
        return errors
    }

    static let columnTypes = ["boolean", "date", "integer", "number", "string"]
    static let columnFormats = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"]

    static func columnErrors(_ column: CustomResourceDefinition.PrinterColumn, path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if column.name.isEmpty { errors.append(.required("\(path).name")) }
        let types = "must be one of " + columnTypes.joined(separator: ",")
        if column.type.isEmpty {
            errors.append(.required("\(path).type", types))
        } else if !columnTypes.contains(column.type) {
            errors.append(.invalid("\(path).type", column.type, types))
        }
        if let format = column.format, !format.isEmpty, !columnFormats.contains(format) {
            errors.append(.invalid("\(path).format", format, "must be one of " + columnFormats.joined(separator: ",")))
        }
        if column.jsonPath.isEmpty {
            errors.append(.required("\(path).JSONPath"))
        } else if !isSimplePath(column.jsonPath) {
            errors.append(.invalid("\(path).JSONPath", column.jsonPath, "must be a simple json path starting with ."))
        }
        return errors
    }
}

/// KEP-1111's approval of APIs in the groups Kubernetes owns (`k8s.io`, `kubernetes.io` and their
/// subdomains): their CRDs carry `api-approved.kubernetes.io`, the URL of the approving review or a reason
/// starting with "unapproved".
public enum APIApproval: Equatable, Sendable {
    case unprotected, missing, invalid, bypassed(String), approved(String)

    public static let annotation = "api-approved.kubernetes.io"
    static let link = "see https://github.com/kubernetes/enhancements/pull/1111"
    static let missingMessage = "protected groups must have approval annotation \"\(annotation)\", \(link)"
    static let invalidMessage = "protected groups must have approval annotation \"\(annotation)\" with either a URL or a reason "
        + "starting with \"unapproved\", \(link)"

    public static func isProtected(_ group: String) -> Bool {
        ["k8s.io", "kubernetes.io"].contains { group == $0 || group.hasSuffix("." + $0) }
    }

    public static func state(group: String, annotations: [String: String]?) -> APIApproval {
        guard isProtected(group) else { return .unprotected }
        guard let value = annotations?[annotation], !value.isEmpty else { return .missing }
        if value.hasPrefix("unapproved") { return .bypassed(value) }
        if let url = URLComponents(string: value), let scheme = url.scheme, !scheme.isEmpty, let host = url.host, !host.isEmpty {
            return .approved(value)
        }
        return .invalid
    }

    /// The `KubernetesAPIApprovalPolicyConformant` condition a protected group's CRD carries; nil for others.
    public var condition: Condition? {
        let type = "KubernetesAPIApprovalPolicyConformant"
        return switch self {
        case .unprotected: nil
        case .approved(let url): Condition(type: type, status: "True", reason: "ApprovedAnnotation", message: "approved in \(url)")
        case .bypassed(let reason): Condition(type: type, status: "False", reason: "UnapprovedAnnotation", message: "not approved: \"\(reason)\"")
        case .invalid: Condition(type: type, status: "False", reason: "InvalidAnnotation", message: Self.invalidMessage)
        case .missing: Condition(type: type, status: "False", reason: "MissingAnnotation", message: Self.missingMessage)
        }
    }
}
