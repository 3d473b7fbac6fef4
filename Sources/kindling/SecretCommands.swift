import ArgumentParser
import Foundation
import KindlingAPI
import KindlingClient

/// `kindling create secret tls|generic`, as kubectl's: the Secret is built here and created through the API.
struct CreateSecret: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret", abstract: "Creates a Secret, like kubectl create secret.", subcommands: [CreateSecretTLS.self, CreateSecretGeneric.self])
}

struct CreateSecretTLS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls", abstract: "Creates a kubernetes.io/tls Secret (tls.crt, tls.key) from a PEM certificate and key.")

    @OptionGroup var cluster: ClusterOption
    @Option(name: [.short, .long], help: "The namespace. (default \"default\")") var namespace: String?
    @Option(help: "Path to the PEM certificate (chain).") var cert: String
    @Option(help: "Path to the PEM private key.") var key: String
    @Argument(help: "The Secret's name.") var name: String

    func run() async throws {
        try await reportingErrors("error") {
            let secret = try Secret.tls(namespace: namespace ?? "default", name: name,
                                        certificate: try readFile(cert), key: try readFile(key))
            try await createSecret(secret, cluster: cluster.name)
        }
    }
}

struct CreateSecretGeneric: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generic", abstract: "Creates an Opaque Secret from literal values and files.")

    @OptionGroup var cluster: ClusterOption
    @Option(name: [.short, .long], help: "The namespace. (default \"default\")") var namespace: String?
    @Option(name: .customLong("from-literal"), help: "KEY=VALUE; repeatable.") var literals: [String] = []
    @Option(name: .customLong("from-file"), help: "[KEY=]PATH: the file's content under KEY (default: the file's name); repeatable.")
    var files: [String] = []
    @Option(help: "The Secret's type. (default Opaque)") var type: String?
    @Argument(help: "The Secret's name.") var name: String

    func run() async throws {
        try await reportingErrors("error") {
            var data: [String: Data] = [:]
            for literal in literals {
                guard let equals = literal.firstIndex(of: "="), equals != literal.startIndex else {
                    throw CLIError("invalid literal source \(literal), expected key=value")
                }
                data[String(literal[..<equals])] = Data(literal[literal.index(after: equals)...].utf8)
            }
            for source in files {
                let parts = source.split(separator: "=", maxSplits: 1).map(String.init)
                let path = parts.count == 2 ? parts[1] : parts[0]
                data[parts.count == 2 ? parts[0] : (path as NSString).lastPathComponent] = try readFile(path)
            }
            try await createSecret(Secret(namespace: namespace ?? "default", name: name, type: type ?? "Opaque", data: data), cluster: cluster.name)
        }
    }
}

func readFile(_ path: String) throws -> Data {
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("open \(path): no such file or directory") }
    return data
}

func createSecret(_ secret: Secret, cluster: String) async throws {
    let client = try apiClient(cluster)
    defer { Task { [client] in try? await client.shutdown() } }
    _ = try await client.create(secret, namespace: secret.namespace)
    print("secret/\(secret.name) created")
}
