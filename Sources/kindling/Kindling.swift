import ArgumentParser
import Foundation
import KindlingAPI

@main
struct Kindling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kindling",
        abstract: "A kind-style Kubernetes cluster's networking, built from network namespaces on this machine.",
        discussion: """
            Nodes and pods are network namespaces; the datapath is the kernel's own (veth, routes, nftables).
            Run as root. A cluster named "kindling" is used unless --name says otherwise.
            """,
        subcommands: [Create.self, Delete.self, Get.self, Exec.self]
    )
}

/// Options shared by the commands that act on one cluster, named as kind names them.
struct ClusterOption: ParsableArguments {
    @Option(name: .long, help: "The cluster's name.")
    var name: String = "kindling"

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

/// An error printed as kind prints its own: `ERROR: <message>`, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

extension ParsableCommand {
    /// Runs `body`, printing any error the way kind does and exiting 1.
    func reportingErrors(_ prefix: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("ERROR: \(error.message)\n".utf8))
            throw ExitCode.failure
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("ERROR: \(prefix): \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
