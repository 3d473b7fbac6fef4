import Foundation

/// `v1 Secret`: named sensitive data, base64 in `data`. `stringData` is write-only, as in Kubernetes: its
/// entries are merged into `data` when the object is written (they win) and it is never stored or served.
public struct Secret: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Secret"
    public static let resource = "secrets"
    public static let namespaced = true
    public static let shortNames: [String] = []

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// Base64 of each value, as the API carries bytes.
    public var data: [String: String]?
    public var stringData: [String: String]?
    public var type: String?
    public var immutable: Bool?

    public init(namespace: String, name: String, type: String = "Opaque", data: [String: Data]) {
        self.metadata = ObjectMeta(name: name, namespace: namespace)
        self.type = type
        self.data = data.mapValues { $0.base64EncodedString() }
        stampTypeMeta()
    }

    /// A kubernetes.io/tls Secret, as `kubectl create secret tls` makes one: both files must hold PEM data.
    public static func tls(namespace: String, name: String, certificate: Data, key: Data) throws -> Secret {
        for (what, data) in [("certificate", certificate), ("key", key)] where !String(decoding: data, as: UTF8.self).contains("-----BEGIN ") {
            throw ManifestError("failed to load key pair tls: failed to find any PEM data in \(what) input")
        }
        return Secret(namespace: namespace, name: name, type: "kubernetes.io/tls", data: ["tls.crt": certificate, "tls.key": key])
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, data, stringData, type, immutable }

    /// Refuses values that are not base64, in the words of Go's decoder (which fails the whole body).
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decode(ObjectMeta.self, forKey: .metadata)
        data = try container.decodeIfPresent([String: String].self, forKey: .data)
        stringData = try container.decodeIfPresent([String: String].self, forKey: .stringData)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        immutable = try container.decodeIfPresent(Bool.self, forKey: .immutable)
        for value in (data ?? [:]).values where Data(base64Encoded: value) == nil {
            // Go's decoder names no field, only the byte.
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "illegal base64 data at input byte \(Secret.firstBadBase64Byte(value))"))
        }
    }

    /// Where Go's base64 decoder stops: the first byte outside the alphabet, else the length (bad padding).
    static func firstBadBase64Byte(_ text: String) -> Int {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let bytes = Array(text.utf8)
        let body = bytes.prefix { $0 != UInt8(ascii: "=") }
        return body.firstIndex { !alphabet.contains($0) } ?? bytes.count
    }

    /// The values, decoded.
    public var decodedData: [String: Data] { (data ?? [:]).compactMapValues { Data(base64Encoded: $0) } }

    /// Type Opaque; stringData folded into data (write-only).
    public mutating func applyDefaults() {
        if type == nil || type == "" { type = "Opaque" }
        if let stringData {
            var merged = data ?? [:]
            for (key, value) in stringData { merged[key] = Data(value.utf8).base64EncodedString() }
            data = merged
            self.stringData = nil
        }
    }

    /// Keys as for ConfigMaps, at most 1 MiB of data, and the keys each built-in type requires.
    public func validate() -> [FieldError] {
        var errors = (data ?? [:]).keys.sorted().compactMap { ConfigMap.keyProblem(field: "data", key: $0) }
        let size = decodedData.reduce(0) { $0 + $1.value.count }
        if size > 1024 * 1024 { errors.append(FieldError(.tooLong, field: "data", detail: "must have at most 1048576 bytes")) }
        let required: [String] = switch type ?? "Opaque" {
        case "kubernetes.io/tls": ["tls.crt", "tls.key"]
        case "kubernetes.io/dockerconfigjson": [".dockerconfigjson"]
        case "kubernetes.io/dockercfg": [".dockercfg"]
        case "kubernetes.io/ssh-auth": ["ssh-privatekey"]
        default: []
        }
        for key in required where data?[key] == nil { errors.append(.required("data[\(key)]")) }
        if type == "kubernetes.io/basic-auth", data?["username"] == nil, data?["password"] == nil {
            errors.append(.required("data[username]"))
        }
        if type == "kubernetes.io/service-account-token", metadata.annotations?["kubernetes.io/service-account.name"] == nil {
            errors.append(.required("metadata.annotations[kubernetes.io/service-account.name]"))
        }
        return errors
    }

    public func validateUpdate(from old: Secret) -> [FieldError] {
        var errors = validate()
        if type != old.type { errors.append(.invalid("type", type ?? "", "field is immutable")) }
        if old.immutable == true {
            if data != old.data { errors.append(.forbidden("data", "field is immutable when `immutable` is set")) }
            if immutable != true { errors.append(.forbidden("immutable", "field is immutable when `immutable` is set")) }
        }
        return errors
    }

    public static var selectableFields: [String] { ["metadata.name", "metadata.namespace", "type"] }
    public func fieldValue(_ field: String) -> String? { field == "type" ? type : metadataFieldValue(field) }
}
