import Foundation
import KindlingStore
import KindlingTestSupport
import Testing

/// Issue 15: writes fanning out to watches while those watches are cancelled. The old store yielded to
/// watchers under its lock while a cancelled watch's termination handler took that lock, and the two
/// deadlocked inside the Swift runtime's task locks. Writers and cancellers run on threads of their own here,
/// so a deadlock shows as a stall the test reports, not a test that hangs the cooperative pool.
@Suite struct StoreStressTests {
    /// A counter and a flag shared by the threads of one run.
    final class Progress: @unchecked Sendable {
        private let lock = NSLock()
        private var writes = 0
        private var cancels = 0
        private var finishedWriters = 0
        private var failures: [String] = []

        func wrote() { lock.withLock { writes += 1 } }
        func cancelled() { lock.withLock { cancels += 1 } }
        func writerDone() { lock.withLock { finishedWriters += 1 } }
        func fail(_ message: String) { lock.withLock { failures.append(message) } }
        var snapshot: (writes: Int, cancels: Int, finishedWriters: Int, failures: [String]) {
            lock.withLock { (writes, cancels, finishedWriters, failures) }
        }
    }

    /// What a watcher that stays for the whole run saw: every revision after its start, in order.
    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var revisions: [Int64] = []
        func add(_ revision: Int64) { lock.withLock { revisions.append(revision) } }
        var all: [Int64] { lock.withLock { revisions } }
    }

    static func body(_ revision: Int64) -> Data { Data("{\"rv\":\(revision)}".utf8) }

    @Test func watchesCancelledWhileWritesFlowNeverStallTheStore() async throws {
        let store = try Store(path: nil)
        let writers = 4, writesPerWriter = 2_500, churners = 2, watchesPerChurner = 200
        let progress = Progress()
        let start = store.currentRevision

        // Watchers that stay: each must see every write, in revision order, without a gap.
        var stayers: [(Seen, Task<Void, Never>)] = []
        for _ in 0..<8 {
            let seen = Seen()
            let events = try store.watch("pods", from: start)
            stayers.append((seen, Task { for await event in events { seen.add(event.object.revision) } }))
        }

        for writer in 0..<writers {
            Thread.detachNewThread {
                for i in 0..<writesPerWriter {
                    let key = ObjectKey(resource: "pods", namespace: "stress", name: "w\(writer)-\(i % 50)")
                    do {
                        if store.get(key) == nil {
                            try store.create(key) { Self.body($0) }
                        } else {
                            try store.update(key) { revision, _ in Self.body(revision) }
                        }
                        progress.wrote()
                    } catch {
                        progress.fail("write \(key): \(error)")
                    }
                }
                progress.writerDone()
            }
        }
        // Watches opened and gone again: cancelled by their client (from another thread, while the watch task
        // waits for its next event), or ended by the consumer itself after a few events (as a timeout ends one).
        for churner in 0..<churners {
            Thread.detachNewThread {
                for i in 0..<watchesPerChurner {
                    guard let events = try? store.watch("pods", from: i.isMultiple(of: 3) ? nil : store.currentRevision) else {
                        progress.fail("watch refused")
                        continue
                    }
                    let limit = Int.random(in: 1...20)
                    let task = Task {
                        var count = 0
                        for await _ in events {
                            count += 1
                            if churner == 1 && count >= limit { break }
                        }
                    }
                    usleep(UInt32.random(in: 50...2_000))
                    task.cancel()
                    progress.cancelled()
                }
            }
        }

        // The store must keep answering throughout: no read waits 5 s, and the writers finish.
        let probe = ReadProbe { _ = store.list("pods", namespace: "stress").objects.count }
        defer { probe.stop() }
        var stalled = false
        try await waitWhileMoving({ progress.snapshot.writes + progress.snapshot.cancels }) {
            stalled = stalled || probe.waiting > .seconds(5)
            return stalled || (progress.snapshot.finishedWriters == writers && progress.snapshot.cancels == churners * watchesPerChurner)
        }
        #expect(!stalled, "the store did not answer a read within 5 s: stalled")
        let outcome = progress.snapshot
        #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(3))")
        #expect(outcome.finishedWriters == writers, "writers stalled after \(outcome.writes) writes, \(outcome.cancels) cancels")
        #expect(outcome.cancels == churners * watchesPerChurner)
        guard outcome.finishedWriters == writers else { return }

        let total = Int64(writers * writesPerWriter)
        let expected = Array((start + 1)...(start + total))
        for (seen, task) in stayers {
            try await waitWhileMoving({ seen.all.count }) { seen.all.count >= expected.count }
            #expect(seen.all == expected, "a watcher saw \(seen.all.count) of \(expected.count) events, or out of order")
            task.cancel()
        }
        // Every watch that went is gone from the store, so writes stop paying for it.
        try await waitWhileMoving(patience: .seconds(30), { store.watcherCount }) { store.watcherCount == 0 }
        #expect(store.watcherCount == 0)
        #expect(probe.slowestRead < .seconds(2), "a read waited \(probe.slowestRead)")
    }
}
