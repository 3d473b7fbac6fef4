import Foundation
import KindlingAPI
@testable import KindlingReconcile
import Logging
import Synchronization
import Testing

/// The one reconcile loop (issue 16): when it syncs, with what, and what it does after a failure or drift.
/// Sources and syncs are driven by hand; a sync is held on a gate to let changes pile up behind it.
@Suite struct ReconcileLoopTests {
    /// A source whose updates the test sends.
    final class Feed<T: Sendable>: Sendable {
        private let deliver = Mutex<(@Sendable (CacheUpdate<T>) -> Void)?>(nil)

        var source: ReconcileSource {
            ReconcileSource(T.self) { deliver in
                self.deliver.withLock { $0 = deliver }
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            }
        }

        func send(_ objects: [String: T], changed: Set<String>) async {
            while true {
                if let deliver = self.deliver.withLock({ $0 }) { return deliver(CacheUpdate(objects: objects, changed: changed)) }
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// What the loop's syncs saw, in order; a sync throws while `failures` is above zero, and waits while the
    /// gate is shut.
    final class Syncs: Sendable {
        private let (stream, continuation) = AsyncStream.makeStream(of: ReconcileSnapshot.self)
        let failures = Mutex(0)
        private let shut = Mutex(false)

        struct Refused: Error {}

        func sync(_ snapshot: ReconcileSnapshot) async throws {
            continuation.yield(snapshot)
            while shut.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
            if failures.withLock({ count in count -= 1; return count >= 0 }) { throw Refused() }
        }

        func close() { shut.withLock { $0 = true } }
        func open() { shut.withLock { $0 = false } }

        /// The next sync's snapshot (fails the test after 60 s: only a hang guard, since `make test` runs these beside
        /// the integration tests, whose work can hold both of CI's cores for seconds).
        func next() async throws -> ReconcileSnapshot {
            try await withThrowingTaskGroup(of: ReconcileSnapshot?.self) { group in
                group.addTask { [stream] in
                    var iterator = stream.makeAsyncIterator()
                    return await iterator.next()
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(60))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return try #require(first, "no sync came")
            }
        }
    }

    static let logger = Logger(label: "test.reconcile")

    /// Runs `loop` with `syncs` while `body` drives it.
    static func running(_ loop: ReconcileLoop, _ syncs: Syncs, _ body: () async throws -> Void) async throws {
        let task = Task { await loop.run(syncs.sync) }
        defer { task.cancel() }
        try await body()
    }

    @Test func theFirstSyncWaitsForEverySourceAndSeesAllOfIt() async throws {
        let numbers = Feed<Int>(), words = Feed<String>(), syncs = Syncs()
        let loop = ReconcileLoop("test", sources: [numbers.source, words.source], repair: .none, logger: Self.logger)
        try await Self.running(loop, syncs) {
            await numbers.send(["one": 1, "two": 2], changed: ["one", "two"])
            // Time for a loop that does not wait to sync on the numbers alone: its first sync would have no words.
            try await Task.sleep(for: .milliseconds(50))
            await words.send(["hello": "world"], changed: ["hello"])
            let first = try await syncs.next()
            #expect(first.reason == .initial && first.full)
            #expect(first.objects(Int.self) == ["one": 1, "two": 2])
            #expect(first.objects(String.self) == ["hello": "world"])
            #expect(first.changed(Int.self) == ["one", "two"])
        }
    }

    @Test func changesDuringASyncMakeOneSyncAfterIt() async throws {
        let numbers = Feed<Int>(), syncs = Syncs()
        let loop = ReconcileLoop("test", sources: [numbers.source], repair: .none, logger: Self.logger)
        try await Self.running(loop, syncs) {
            syncs.close()
            await numbers.send(["a": 1], changed: ["a"])
            _ = try await syncs.next()
            await numbers.send(["a": 1, "b": 2], changed: ["b"])
            await numbers.send(["a": 1, "b": 2, "c": 3], changed: ["c"])
            await numbers.send(["b": 2, "c": 3], changed: ["a"])
            syncs.open()
            let second = try await syncs.next()
            #expect(second.reason == .change && !second.full)
            #expect(second.changed(Int.self) == ["a", "b", "c"])
            #expect(second.objects(Int.self) == ["b": 2, "c": 3])
            await numbers.send(["c": 3], changed: ["b"])
            let third = try await syncs.next()
            #expect(third.changed(Int.self) == ["b"], "what the last sync took is not taken again")
        }
    }

    @Test func aFailedSyncIsRetriedInFullWithItsChanges() async throws {
        let numbers = Feed<Int>(), syncs = Syncs()
        let loop = ReconcileLoop("test", sources: [numbers.source], repair: .none, logger: Self.logger)
        try await Self.running(loop, syncs) {
            await numbers.send(["a": 1], changed: ["a"])
            _ = try await syncs.next()
            syncs.failures.withLock { $0 = 2 }
            await numbers.send(["a": 1, "b": 2], changed: ["b"])
            let failed = try await syncs.next()
            #expect(failed.reason == .change)
            // Nothing else changes: the retries come by themselves, with the failed sync's changes.
            for _ in 0..<2 {
                let retry = try await syncs.next()
                #expect(retry.reason == .retry && retry.full)
                #expect(retry.changed(Int.self) == ["b"])
            }
            await numbers.send(["a": 1, "b": 2, "c": 3], changed: ["c"])
            let after = try await syncs.next()
            #expect(after.reason == .change && after.changed(Int.self) == ["c"], "a success ends the retries")
        }
    }

    @Test func aFailedFirstSyncStaysTheFirst() async throws {
        let numbers = Feed<Int>(), syncs = Syncs()
        syncs.failures.withLock { $0 = 1 }
        let loop = ReconcileLoop("test", sources: [numbers.source], repair: .none, logger: Self.logger)
        try await Self.running(loop, syncs) {
            await numbers.send([:], changed: [])
            let (first, second) = (try await syncs.next(), try await syncs.next())
            #expect(first.reason == .initial)
            #expect(second.reason == .initial, "an empty cluster still gets its first sync")
        }
    }

    @Test func driftSeenByTheCheckMakesAFullSync() async throws {
        let numbers = Feed<Int>(), syncs = Syncs()
        let drift = Mutex(false)
        let checks = Mutex(0)
        let loop = ReconcileLoop("test", sources: [numbers.source], repair: .check(every: .milliseconds(5)) {
            checks.withLock { $0 += 1 }
            return drift.withLock { seen in defer { seen = false }; return seen }
        }, logger: Self.logger)
        try await Self.running(loop, syncs) {
            await numbers.send(["a": 1], changed: ["a"])
            _ = try await syncs.next()
            // Checks that see nothing make no sync: the next one is the drift's.
            let seen = checks.withLock { $0 }
            while checks.withLock({ $0 }) < seen + 5 { try await Task.sleep(for: .milliseconds(1)) }
            drift.withLock { $0 = true }
            let repair = try await syncs.next()
            #expect(repair.reason == .repair && repair.full)
            #expect(repair.changed(Int.self).isEmpty)
            #expect(repair.objects(Int.self) == ["a": 1])
        }
    }

    @Test func aCheckThatThrowsCountsAsDrift() async throws {
        let numbers = Feed<Int>(), syncs = Syncs()
        let loop = ReconcileLoop("test", sources: [numbers.source], repair: .check(every: .milliseconds(5)) { throw Syncs.Refused() },
                                 logger: Self.logger)
        try await Self.running(loop, syncs) {
            await numbers.send(["a": 1], changed: ["a"])
            let (first, second) = (try await syncs.next(), try await syncs.next())
            #expect(first.reason == .initial)
            #expect(second.reason == .repair)
        }
    }

    @Test func aPeriodicRepairSyncsWithNoChange() async throws {
        let numbers = Feed<Int>(), syncs = Syncs()
        let loop = ReconcileLoop("test", sources: [numbers.source], repair: .every(.milliseconds(5)), logger: Self.logger)
        try await Self.running(loop, syncs) {
            await numbers.send(["a": 1], changed: ["a"])
            _ = try await syncs.next()
            let repair = try await syncs.next()
            #expect(repair.reason == .repair && repair.full)
        }
    }

    @Test func sourcesOfChangedKeysOnlyGateTheFirstSyncToo() async throws {
        let numbers = Feed<Int>(), syncs = Syncs()
        let keys = Mutex<(@Sendable (Set<String>) -> Void)?>(nil)
        let store = ReconcileSource(changesOf: "pods") { deliver in
            keys.withLock { $0 = deliver }
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        }
        let loop = ReconcileLoop("test", sources: [numbers.source, store], repair: .none, logger: Self.logger)
        try await Self.running(loop, syncs) {
            await numbers.send(["a": 1], changed: ["a"])
            while keys.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(1)) }
            keys.withLock { $0 }?([])
            let first = try await syncs.next()
            #expect(first.objects(Int.self) == ["a": 1])
            keys.withLock { $0 }?(["default/web"])
            let second = try await syncs.next()
            #expect(second.reason == .change)
        }
    }

    @Test(arguments: [
        (["a": "1", "b": "1"], ["a": "1", "b": "2", "c": "1"], Set(["b", "c"])),
        (["a": "1", "b": "1"], ["a": "1"], Set(["b"])),
        ([:], ["a": "1"], Set(["a"])),
        (["a": "1"], ["a": "1"], Set<String>()),
    ])
    func aListAfterGoneReportsWhatDiffers(old: [String: String], new: [String: String], changed: Set<String>) {
        #expect(CacheUpdate.between(old, new) { $0 }.changed == changed)
    }
}
