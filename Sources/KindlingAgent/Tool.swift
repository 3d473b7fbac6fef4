import KindlingNet
import KindlingProcess

/// Runs one of the machine's tools (conntrack, arping) in the agent's namespace, output discarded, and
/// waits for it without blocking a thread. Bounded: these take milliseconds, and a lost child must not
/// stall the loop that called it. Returns the exit status, or nil when it could not be run or waited for.
enum Tool {
    @discardableResult
    static func run(_ arguments: [String]) async -> Int32? {
        guard let pid = try? Spawn.start(arguments, options: .init(logPath: "/dev/null")) else { return nil }
        for _ in 0..<1000 {
            if let status = Spawn.reap(pid) { return Spawn.exitCode(status) }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}
