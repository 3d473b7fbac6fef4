import ArgumentParser
import Foundation
import KindlingAPI

/// `kindling version`: kindling's release and platform, as `kind version` prints its own, and the Kubernetes
/// version its clusters serve (what `kubectl version` shows as the server's).
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Prints kindling's version and the Kubernetes version its clusters serve.")

    func run() {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        print("kindling \(KindlingVersion.current) \(KindlingVersion.platform(machine: machine))")
        print("Kubernetes \(KubernetesVersion.gitVersion)")
    }
}
