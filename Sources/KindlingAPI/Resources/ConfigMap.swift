/// `v1 ConfigMap`: named configuration data. Kindling reads one itself, `kube-system/coredns`, whose Corefile
/// says where the cluster DNS forwards names outside the cluster domain.
public struct ConfigMap: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "ConfigMap"
    public static let resource = "configmaps"
    public static let namespaced = true
    public static let shortNames = ["cm"]

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?
    public var binaryData: [String: String]?
    public var immutable: Bool?

    public init(namespace: String, name: String, data: [String: String]) {
        self.metadata = ObjectMeta(name: name, namespace: namespace)
        self.data = data
        stampTypeMeta()
    }

    public mutating func applyDefaults() {}

    /// Keys as Kubernetes' IsConfigMapKey has them; data and binaryData together at most 1 MiB.
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        for (field, keys) in [("data", Array((data ?? [:]).keys)), ("binaryData", Array((binaryData ?? [:]).keys))] {
            for key in keys.sorted() {
                if let problem = ConfigMap.keyProblem(field: field, key: key) { errors.append(problem) }
                if field == "binaryData", data?[key] != nil {
                    errors.append(.invalid("data[\(key)]", key, "duplicate of key present in binaryData"))
                }
            }
        }
        let size = (data ?? [:]).reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
            + (binaryData ?? [:]).reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count * 3 / 4 }
        if size > 1024 * 1024 { errors.append(FieldError(.tooLong, field: "", detail: "must have at most 1048576 bytes")) }
        return errors
    }

    /// What is wrong with `key` as a ConfigMap's or Secret's key (Kubernetes' IsConfigMapKey), if anything.
    static func keyProblem(field: String, key: String) -> FieldError? {
        let valid = !key.isEmpty && key.count <= 253 && key != "." && key != ".." && !key.hasPrefix("..")
            && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }
        return valid ? nil : .invalid("\(field)[\(key)]", key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
    }

    public func validateUpdate(from old: ConfigMap) -> [FieldError] {
        var errors = validate()
        if old.immutable == true {
            if data != old.data || binaryData != old.binaryData {
                errors.append(.forbidden("data", "field is immutable when `immutable` is set"))
            }
            if immutable != true { errors.append(.forbidden("immutable", "field is immutable when `immutable` is set")) }
        }
        return errors
    }
}
