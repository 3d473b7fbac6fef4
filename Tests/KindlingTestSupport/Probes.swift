import Foundation

/// Runs `read` (of a store, of a server) on a thread of its own every 10 ms and times each read there. A test's
/// tasks can wait long for a pool thread while the synchronous integration tests beside them hold both, so
/// only a thread of its own measures the store or server rather than the test process's pool.
public final class ReadProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var startedAt: ContinuousClock.Instant?
    private var slowest = Duration.zero
    private var stopped = false

    public init(_ read: @escaping @Sendable () -> Void) {
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stopped }) {
                let began = ContinuousClock.now
                lock.withLock { startedAt = began }
                read()
                lock.withLock {
                    startedAt = nil
                    slowest = max(slowest, ContinuousClock.now - began)
                }
                usleep(10_000)
            }
        }
    }

    /// How long the read under way has waited; zero when none is.
    public var waiting: Duration { lock.withLock { startedAt.map { ContinuousClock.now - $0 } ?? .zero } }
    public var slowestRead: Duration { lock.withLock { slowest } }
    public func stop() { lock.withLock { stopped = true } }
}

/// Waits until `done`, as long as `progress` keeps moving (a stalled count for `patience` ends the wait).
public func waitWhileMoving(patience: Duration = .seconds(60), _ progress: () -> Int, done: () -> Bool) async throws {
    var last = progress(), movedAt = ContinuousClock.now
    while !done() {
        try await Task.sleep(for: .milliseconds(10))
        let now = progress()
        if now != last { (last, movedAt) = (now, .now) }
        if ContinuousClock.now - movedAt > patience { return }
    }
}
