import Crypto
import Foundation
import KindlingAddresses
import KindlingAPI
import SwiftASN1
import X509

/// What the TLS endpoint needs and what a client is given: a cluster CA, the API server's certificate
/// signed by it (for 127.0.0.1, localhost, the `kubernetes` Service's names and address and the
/// control-plane node's address), a bearer token, and the key ServiceAccount tokens are signed with. Made
/// once at `create cluster`, kept root-only in the cluster's state directory (`pki/`), like kubeadm's
/// /etc/kubernetes/pki.
public struct ServerCredentials: Sendable {
    public let caPEM: String
    public let certificatePEM: String
    public let privateKeyPEM: String
    public let token: String
    public let serviceAccountKeyPEM: String

    /// `addresses`: where else in-cluster clients reach the server (the `kubernetes` Service's address, the
    /// control-plane node's).
    public static func generate(cluster: String, addresses: [IPv4Address] = [], now: Date = Date()) throws -> ServerCredentials {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("kindling-ca-\(cluster)") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: caName, subject: try DistinguishedName { CommonName("kube-apiserver") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                ] + addresses.map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0.octets))) } + [
                    .dnsName("localhost"), .dnsName("kubernetes"), .dnsName("kubernetes.default"),
                    .dnsName("kubernetes.default.svc"), .dnsName("kubernetes.default.svc.cluster.local"),
                ])
            },
            issuerPrivateKey: .init(caKey))
        var random = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
        return ServerCredentials(caPEM: try ca.serializeAsPEM().pemString, certificatePEM: try server.serializeAsPEM().pemString,
                                 privateKeyPEM: serverKey.pemRepresentation, token: token,
                                 serviceAccountKeyPEM: P256.Signing.PrivateKey().pemRepresentation)
    }

    /// The files under a state directory's `pki/`.
    public struct Files: Sendable {
        public let directory: String
        public init(stateDirectory: String) { directory = stateDirectory + "/pki" }
        public var ca: String { directory + "/ca.crt" }
        public var certificate: String { directory + "/apiserver.crt" }
        public var privateKey: String { directory + "/apiserver.key" }
        public var token: String { directory + "/token" }
        public var serviceAccountKey: String { directory + "/sa.key" }
    }

    public func save(_ files: Files) throws {
        try FileManager.default.createDirectory(atPath: files.directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        for (path, text) in [(files.ca, caPEM), (files.certificate, certificatePEM), (files.privateKey, privateKeyPEM), (files.token, token + "\n"),
                           (files.serviceAccountKey, serviceAccountKeyPEM)] {
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
    }

    public static func load(_ files: Files) throws -> ServerCredentials {
        func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
        return ServerCredentials(caPEM: try read(files.ca), certificatePEM: try read(files.certificate),
                                 privateKeyPEM: try read(files.privateKey),
                                 token: try read(files.token).trimmingCharacters(in: .whitespacesAndNewlines),
                                 serviceAccountKeyPEM: try read(files.serviceAccountKey))
    }

    /// This cluster's kubeconfig entry (context `kindling-<cluster>`), as kind writes one.
    public func kubeconfigEntry(cluster: String, port: Int) -> Kubeconfig.Entry {
        Kubeconfig.Entry(name: Kubeconfig.contextName(cluster: cluster), server: "https://127.0.0.1:\(port)",
                         certificateAuthority: caPEM, token: token)
    }
}
