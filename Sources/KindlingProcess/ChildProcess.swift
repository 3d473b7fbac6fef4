import Foundation

/// A started child of this process: its exit awaited on a thread of its own, and signals sent to it only until
/// it is reaped, so a signal never reaches a process that got its pid afterwards.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var reaped = false

    public init(pid: pid_t) { self.pid = pid }

    /// Waits for the exit (once) and returns its status as a shell reports it: the code, or 128 + the signal.
    public func exitCode() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { [self] in
                // Wait without reaping, then reap under the lock `signal` takes: the pid stays ours until then.
                var info = siginfo_t()
                while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
                let code = lock.withLock {
                    reaped = true
                    return Spawn.wait(pid)
                }
                continuation.resume(returning: code)
            }
        }
    }

    /// Sends `signal` unless the child is gone; true when it was sent.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        lock.withLock { !reaped && kill(pid, signal) == 0 }
    }

    public var isRunning: Bool { lock.withLock { !reaped } }
}
