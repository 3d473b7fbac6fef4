import ArgumentParser
import Foundation
import KindlingAgent
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingNet
import KindlingPrinters
import KindlingProcess

struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs a command in a pod (like kubectl exec), or in a node's or the external client's network namespace.",
        discussion: """
            In a pod the command sees the pod's network (its eth0 and IP), hostname and files (/etc/hosts, \
            nginx's /usr/share/nginx/html), with the container's environment: `kindling exec -n dev POD -- curl ...`. \
            With --node it sees the node's view (`ip addr`, `ip route`, `nft list ruleset`, \
            `curl localhost:30000`), under `ip netns exec`. With --external it runs on a machine outside the \
            cluster, on the node network (172.18.255.254), which reaches node ports but not pods or cluster IPs. \
            The exit status is the command's.
            """
    )

    @OptionGroup var cluster: ClusterOption

    @Option(name: [.short, .long], help: "The pod's namespace. (default \"default\")")
    var namespace: String?

    @Option(name: [.short, .long], help: "The container whose environment the command gets (default: the first).")
    var container: String?

    @Option(name: .long, help: "Run in this node's network namespace instead of a pod, e.g. kindling-worker.")
    var node: String?

    @Flag(name: .long, help: "Run in the external client's network namespace, a machine outside the cluster.")
    var external = false

    @Flag(name: [.customShort("i"), .customLong("stdin")], help: "Accepted as kubectl takes it; standard input always reaches the command.")
    var stdin = false

    @Flag(name: [.customShort("t"), .customLong("tty")], help: "Accepted as kubectl takes it; the command uses this terminal.")
    var tty = false

    @Argument(parsing: .captureForPassthrough, help: "POD (unless --node or --external), then -- and the command with its arguments.")
    var words: [String] = []

    func run() async throws {
        // Everything after the pod is passed through, so --help arrives here rather than at the parser.
        if let first = words.first, first == "--help" || first == "-h" {
            print(Kindling.helpMessage(for: Exec.self))
            return
        }
        try await reportingErrors("error") {
            try requireRoot("kindling exec")
            var words = self.words
            var pod: String?
            if node == nil, !external, let first = words.first, first != "--" {
                pod = first
                words.removeFirst()
            }
            let command = words.first == "--" ? Array(words.dropFirst()) : words
            guard !command.isEmpty else { throw CLIError("you must specify at least one command for the container") }
            if node != nil || external {
                let (_, topology) = try loadCluster(cluster.name)
                var target = topology.external
                if let node {
                    guard let found = topology.node(named: node) else { throw CLIError("nodes \"\(node)\" not found") }
                    target = found.netns
                }
                let cArgs = (["ip", "netns", "exec", target.name] + command).map { strdup($0) } + [nil]
                execv("/usr/sbin/ip", cArgs)
                throw CLIError("exec ip netns exec: \(String(cString: strerror(errno)))")
            }
            guard let pod else { throw CLIError("expected POD -- COMMAND, --node NODE -- COMMAND or --external -- COMMAND") }
            let client = try apiClient(cluster.name)
            let object = try await client.get(Pod.self, namespace: namespace ?? "default", name: pod)
            try? await client.shutdown()
            // A terminal that is no session's yet becomes the command's controlling terminal; a user's own stays theirs.
            let stdio = PodEntry.Stdio(callers: true, terminal: isatty(0) == 1 && tcgetsid(0) < 0)
            let child: ChildProcess
            do {
                child = try PodEntry(cluster: cluster.name, pod: object, container: container)
                    .start(command, term: ProcessInfo.processInfo.environment["TERM"], stdio: stdio)
            } catch let failure as PodEntry.Failure {
                printError("error: \(failure)")
                throw ExitCode(failure.exitCode)
            }
            let status = await child.exitCode()
            if status != 0 { throw ExitCode(status) }
        }
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Prints a container's output, like kubectl logs.")

    @OptionGroup var cluster: ClusterOption

    @Option(name: [.short, .long], help: "The pod's namespace. (default \"default\")")
    var namespace: String?

    @Option(name: [.short, .long], help: "The container (default: the first).")
    var container: String?

    @Option(name: .long, help: "Only the last N lines.")
    var tail: Int?

    @Flag(name: [.short, .long], help: "Keep printing what the container writes.")
    var follow = false

    @Argument(help: "The pod.")
    var pod: String

    func run() async throws {
        try await reportingErrors("error") {
            let client = try apiClient(cluster.name)
            let object = try await client.get(Pod.self, namespace: namespace ?? "default", name: pod)
            try? await client.shutdown()
            let name = container ?? object.spec.containers.first?.name ?? ""
            guard let uid = object.metadata.uid else { return }
            let path = PodFiles(cluster: cluster.name).logPath(uid, container: name)
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw CLIError("container \"\(name)\" in pod \"\(pod)\" is waiting to start")
            }
            var text = handle.readDataToEndOfFile()
            if let tail { text = LogText.lastLines(text, tail) }
            FileHandle.standardOutput.write(text)
            while follow {
                let more = handle.availableData
                if more.isEmpty { try await Task.sleep(for: .milliseconds(200)) } else { FileHandle.standardOutput.write(more) }
            }
        }
    }
}
