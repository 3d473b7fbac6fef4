import KindlingAPI
import Logging

/// One input of a loop: something that delivers a kind's cache and its changed keys until cancelled (an
/// informer, a shared informer, the server's store).
public struct ReconcileSource: Sendable {
    /// What the sync looks its cache up by; nil for a source of changed keys only.
    let kind: ObjectIdentifier?
    let name: String
    let run: @Sendable (ReconcileInbox, Int) async -> Void

    /// `run` delivers updates of `T`'s cache until it is cancelled.
    public init<T: Sendable>(_ type: T.Type, run: @escaping @Sendable (_ deliver: @escaping @Sendable (CacheUpdate<T>) -> Void) async -> Void) {
        kind = ObjectIdentifier(T.self)
        name = String(reflecting: T.self)
        self.run = { inbox, index in await run { inbox.put($0, from: index) } }
    }

    /// `run` delivers the keys that changed in `name` (first an empty set: "listed"), for a sync that reads
    /// the objects elsewhere.
    public init(changesOf name: String, run: @escaping @Sendable (_ deliver: @escaping @Sendable (Set<String>) -> Void) async -> Void) {
        kind = nil
        self.name = name
        self.run = { inbox, index in await run { inbox.put(CacheUpdate<Never>(objects: [:], changed: $0), from: index) } }
    }
}

/// What one sync gets: every source's newest cache, the keys changed since the last successful sync, and why
/// it runs.
public struct ReconcileSnapshot: Sendable {
    public enum Reason: String, Sendable {
        /// The first sync, once every source has listed.
        case initial
        /// Objects changed.
        case change
        /// The previous sync failed.
        case retry
        /// The repair period came round (or the drift check saw a change made behind the loop's back).
        case repair
    }

    public let reason: Reason
    let caches: [ObjectIdentifier: any Sendable]
    let changes: [ObjectIdentifier: Set<String>]

    /// Whether the sync must write everything it owns instead of trusting what it wrote last: true unless
    /// only objects changed since a sync that succeeded.
    public var full: Bool { reason != .change }

    /// The objects of `type` (from the source of that type).
    public func objects<T: Sendable>(_ type: T.Type) -> [String: T] {
        caches[ObjectIdentifier(T.self)] as? [String: T] ?? [:]
    }

    /// The keys of `type` changed since the last sync that succeeded (all of them, the first time).
    public func changed<T: Sendable>(_ type: T.Type) -> Set<String> {
        changes[ObjectIdentifier(T.self)] ?? []
    }

    public init(reason: Reason, caches: [ObjectIdentifier: any Sendable], changes: [ObjectIdentifier: Set<String>]) {
        self.reason = reason
        self.caches = caches
        self.changes = changes
    }
}

/// The one reconcile loop of kindling's agents, daemons and controllers, level-triggered as client-go's
/// controllers are. It waits until every source has listed, then runs `sync` once for every burst of changes
/// (what arrives during a sync waits for the next one, not for a timer). A sync that throws is retried with
/// `Backoff`, as a full sync, keeping the changes it was given. Drift is repaired on a period: by a full sync
/// every period, or by a full sync whenever a cheap check, made every period, says the kernel's state moved.
public struct ReconcileLoop: Sendable {
    public enum Repair: Sendable {
        /// Only changes and retries cause syncs.
        case none
        /// A full sync every period, whatever happened.
        case every(Duration)
        /// `drifted` is asked every period; a full sync follows when it answers true or throws.
        case check(every: Duration, drifted: @Sendable () async throws -> Bool)
    }

    public let name: String
    let sources: [ReconcileSource]
    let repair: Repair
    /// The least time from one sync's end to the next one's start (a reload that costs the workload something).
    let spacing: Duration
    let logger: Logger

    public init(_ name: String, sources: [ReconcileSource], repair: Repair, spacing: Duration = .zero, logger: Logger) {
        precondition(Set(sources.map(\.name)).count == sources.count, "one source per kind")
        self.name = name
        self.sources = sources
        self.repair = repair
        self.spacing = spacing
        self.logger = logger
    }

    /// Runs until cancelled.
    public func run(_ sync: @escaping @Sendable (ReconcileSnapshot) async throws -> Void) async {
        let inbox = ReconcileInbox(sourceCount: sources.count)
        let kinds = sources.map(\.kind)
        await withTaskGroup(of: Void.self) { group in
            for (index, source) in sources.enumerated() {
                group.addTask { await source.run(inbox, index) }
            }
            switch repair {
            case .none: break
            case .every(let period):
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: period)
                        inbox.requestRepair()
                    }
                }
            case .check(let period, let drifted):
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: period)
                        if (try? await drifted()) ?? true { inbox.requestRepair() }
                    }
                }
            }
            group.addTask {
                var pending: ReconcileSnapshot.Reason? = .initial
                var backoff = Backoff()
                for await _ in inbox.wakeups {
                    guard !Task.isCancelled else { break }
                    guard let taken = inbox.take(force: pending != nil) else { continue }
                    let reason = pending ?? (taken.repair ? .repair : .change)
                    let snapshot = ReconcileSnapshot(
                        reason: reason,
                        caches: Dictionary(uniqueKeysWithValues: taken.caches.compactMap { index, cache in kinds[index].map { ($0, cache) } }),
                        changes: Dictionary(uniqueKeysWithValues: taken.changed.compactMap { index, keys in kinds[index].map { ($0, keys) } }))
                    do {
                        try await sync(snapshot)
                        pending = nil
                        backoff.succeeded()
                        if spacing > .zero { try? await Task.sleep(for: spacing) }
                    } catch {
                        if Task.isCancelled { break }
                        logger.error("\(name): \(error)")
                        inbox.giveBack(taken.changed)
                        // The first sync stays the first: it must still run whatever nothing changes.
                        if pending != .initial { pending = .retry }
                        try? await Task.sleep(for: backoff.failed())
                        inbox.wake()
                    }
                }
            }
            await group.next()
            group.cancelAll()
            inbox.finish()
        }
    }
}
