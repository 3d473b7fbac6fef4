import ArgumentParser
import Foundation
import KindlingAddresses
import KindlingAPI

@main
struct Kindling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kindling",
        abstract: "A kind-style Kubernetes cluster's networking, built from network namespaces on this machine.",
        discussion: """
            Cluster verbs work like kind's (create cluster, delete cluster, get clusters, export kubeconfig); object \
            verbs work like kubectl's (apply, get, describe, delete, scale, exec, logs). Nodes and pods are network \
            namespaces; the datapath is the kernel's own. Run as root. create cluster also writes the kubeconfig context \
            kindling-<name> (as kind writes kind-<name>) and makes it current, so real kubectl works too. Object and node \
            verbs act on --name, else $KINDLING_CLUSTER, else the current kubeconfig context's cluster when it is a \
            kindling-<name> one, else "kindling"; cluster verbs default to "kindling", as kind's to "kind".
            """,
        subcommands: [Create.self, Delete.self, Export.self, Get.self, DescribeCommand.self, Apply.self, ScaleCommand.self, Exec.self, Logs.self,
                      NodeCommand.self, VersionCommand.self, ServerCommand.self, AgentCommand.self, SuperviseCommand.self, AgnhostCommand.self,
                      DNSCommand.self, IngressControllerCommand.self]
    )
}

/// The cluster a command acts on: `--name` as kind spells it (`--cluster` as kubectl does); without it, as kubectl
/// picks one: `$KINDLING_CLUSTER`, else the current kubeconfig context's cluster if it is a kindling one.
struct ClusterOption: ParsableArguments {
    @Option(name: [.customLong("name"), .customLong("cluster")],
            help: "The cluster's name. (default: $KINDLING_CLUSTER, else the current kubeconfig context's kindling-<name>, else \"kindling\")")
    var explicitName: String?

    var name: String {
        let environment = ProcessInfo.processInfo.environment
        return explicitName ?? environment["KINDLING_CLUSTER"]
            ?? Kubeconfig.currentCluster(files: Kubeconfig.readPaths(environment: environment, home: KubeconfigOption.home)) { path in
                FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
            } ?? ClusterConfig.defaultName
    }

    func validate() throws {
        if let problem = ClusterNames.problem(with: name) {
            throw ValidationError("invalid cluster name \"\(name)\": \(problem)")
        }
    }
}

/// Fails with a clear message unless running as root: namespaces, mounts and links need it.
func requireRoot(_ what: String) throws {
    if geteuid() != 0 {
        throw CLIError("\(what) must run as root: it creates network namespaces, links and mounts")
    }
}

/// An error printed as kind and kubectl print theirs, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// An option's `NAMESPACE/NAME` value, split.
func namespacedName(_ value: String, option: String) throws -> (namespace: String, name: String) {
    let parts = value.split(separator: "/").map(String.init)
    guard parts.count == 2 else { throw ValidationError("--\(option): \(value) is not NAMESPACE/NAME") }
    return (parts[0], parts[1])
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Runs `body`, printing any error as `<prefix>: <message>` and exiting 1. API errors print as kubectl
/// prints them: `Error from server (NotFound): pods "x" not found`.
func reportingErrors(_ prefix: String, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        printError("\(prefix): \(error.message)")
        throw ExitCode.failure
    } catch let status as Status {
        printError("Error from server (\(status.reason)): \(status.message)")
        throw ExitCode.failure
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("\(prefix): \(error)")
        throw ExitCode.failure
    }
}
