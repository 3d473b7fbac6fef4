import Crypto
import Foundation
import KindlingAPI

/// ServiceAccount tokens as kube-apiserver issues them: JWTs signed with the cluster's service-account key
/// (ES256 here; kube-apiserver takes RSA or ECDSA keys), issued by `https://kubernetes.default.svc.cluster.local`
/// for audiences (the API's own by default), carrying the account and, when bound, the pod and node in a
/// `kubernetes.io` claim. Verifying checks the signature, the times, the issuer and an audience; whether the
/// account and pod still exist is the authenticator's question.
public struct ServiceAccountTokens: Sendable {
    public static let issuer = "https://kubernetes.default.svc.cluster.local"

    /// The claims kindling reads back from a token.
    public struct Claims: Codable, Equatable, Sendable {
        public struct Reference: Codable, Equatable, Sendable {
            public var name: String
            public var uid: String
        }
        public struct Kubernetes: Codable, Equatable, Sendable {
            public var namespace: String
            public var serviceaccount: Reference
            public var pod: Reference?
            public var node: Reference?
        }
        public var iss: String
        public var sub: String
        public var aud: [String]
        public var exp: Int64
        public var iat: Int64
        public var nbf: Int64
        public var jti: String
        public var kubernetes: Kubernetes

        enum CodingKeys: String, CodingKey {
            case iss, sub, aud, exp, iat, nbf, jti
            case kubernetes = "kubernetes.io"
        }
    }

    /// The signing key's bytes (the key type is not Sendable; making it from them costs microseconds).
    let rawKey: Data
    var key: P256.Signing.PrivateKey { try! P256.Signing.PrivateKey(rawRepresentation: rawKey) }
    /// The key's id in tokens' headers: a hash of its public key, as kube-apiserver derives it.
    let keyID: String

    public init(pem: String) throws {
        let key = try P256.Signing.PrivateKey(pemRepresentation: pem)
        rawKey = key.rawRepresentation
        keyID = Self.base64URL(Data(SHA256.hash(data: key.publicKey.derRepresentation)))
    }

    /// A token for `account`, bound to `pod` (and its node) when given, valid `seconds` from `now`.
    public func issue(for account: ServiceAccount, audiences: [String], seconds: Int64, pod: Pod? = nil, now: Date = Date()) throws -> (token: String, expires: Date) {
        let issued = Int64(now.timeIntervalSince1970)
        let namespace = account.metadata.namespace ?? ""
        var kubernetes = Claims.Kubernetes(namespace: namespace, serviceaccount: .init(name: account.name, uid: account.metadata.uid ?? ""))
        if let pod {
            kubernetes.pod = .init(name: pod.name, uid: pod.metadata.uid ?? "")
            if let node = pod.spec.nodeName { kubernetes.node = .init(name: node, uid: "") }
        }
        let claims = Claims(iss: Self.issuer, sub: ServiceAccount.userName(namespace: namespace, name: account.name),
                            aud: audiences.isEmpty ? [Self.issuer] : audiences, exp: issued + seconds, iat: issued, nbf: issued,
                            jti: UUID().uuidString.lowercased(), kubernetes: kubernetes)
        return (try sign(claims), Date(timeIntervalSince1970: TimeInterval(claims.exp)))
    }

    /// A JWT of `claims`, signed with the key.
    func sign<Claims: Encodable>(_ claims: Claims) throws -> String {
        let header = try JSONSerialization.data(withJSONObject: ["alg": "ES256", "kid": keyID], options: [.sortedKeys])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let signed = Self.base64URL(header) + "." + Self.base64URL(try encoder.encode(claims))
        let signature = try key.signature(for: Data(signed.utf8))
        return signed + "." + Self.base64URL(signature.rawRepresentation)
    }

    /// The claims of a token this key signed, nil for any other token.
    func signedClaims<Claims: Decodable>(_ token: String, as type: Claims.Type) -> Claims? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = Self.decodeBase64URL(parts[0]), let payload = Self.decodeBase64URL(parts[1]),
              let signatureBytes = Self.decodeBase64URL(parts[2]),
              let fields = try? JSONSerialization.jsonObject(with: header) as? [String: Any], fields["alg"] as? String == "ES256",
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes),
              key.publicKey.isValidSignature(signature, for: Data("\(parts[0]).\(parts[1])".utf8)) else { return nil }
        return try? JSONDecoder().decode(Claims.self, from: payload)
    }

    /// The token's claims if this key signed it, it is within its times and for one of `audiences`; nil otherwise.
    public func verify(_ token: String, audiences: [String] = [issuer], now: Date = Date()) -> Claims? {
        guard let claims = signedClaims(token, as: Claims.self) else { return nil }
        let time = Int64(now.timeIntervalSince1970)
        guard claims.iss == Self.issuer, claims.nbf <= time + 60, time < claims.exp,
              claims.aud.contains(where: audiences.contains) else { return nil }
        return claims
    }

    // MARK: Legacy tokens

    /// The issuer of the tokens a `kubernetes.io/service-account-token` Secret holds.
    public static let legacyIssuer = "kubernetes/serviceaccount"

    /// A token Secret's claims, as kube-controller-manager's token controller writes them: no audience, no expiry;
    /// the token lives as long as its Secret.
    public struct LegacyClaims: Codable, Equatable, Sendable {
        public var iss: String
        public var sub: String
        public var namespace: String
        public var secretName: String
        public var accountName: String
        public var accountUID: String

        enum CodingKeys: String, CodingKey {
            case iss, sub
            case namespace = "kubernetes.io/serviceaccount/namespace"
            case secretName = "kubernetes.io/serviceaccount/secret.name"
            case accountName = "kubernetes.io/serviceaccount/service-account.name"
            case accountUID = "kubernetes.io/serviceaccount/service-account.uid"
        }
    }

    /// The token for the Secret `secretName` of `account`.
    public func issueLegacy(for account: ServiceAccount, secretName: String) throws -> String {
        let namespace = account.metadata.namespace ?? ""
        return try sign(LegacyClaims(iss: Self.legacyIssuer, sub: ServiceAccount.userName(namespace: namespace, name: account.name),
                                     namespace: namespace, secretName: secretName, accountName: account.name,
                                     accountUID: account.metadata.uid ?? ""))
    }

    /// A legacy token's claims if this key signed it; whether its Secret still holds it is the authenticator's question.
    public func verifyLegacy(_ token: String) -> LegacyClaims? {
        guard let claims = signedClaims(token, as: LegacyClaims.self), claims.iss == Self.legacyIssuer else { return nil }
        return claims
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL<S: StringProtocol>(_ text: S) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
