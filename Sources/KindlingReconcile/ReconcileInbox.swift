import Synchronization

/// What a source hands its loop after a change: the kind's whole cache (keyed `namespace/name`, or `name`),
/// and the keys that changed since its previous update (every key, the first time).
public struct CacheUpdate<T: Sendable>: Sendable {
    public var objects: [String: T]
    public var changed: Set<String>

    public init(objects: [String: T], changed: Set<String>) {
        self.objects = objects
        self.changed = changed
    }

    /// The update that takes `old` to `new`: keys added, removed, or whose version differs.
    public static func between(_ old: [String: T], _ new: [String: T], version: (T) -> String?) -> CacheUpdate<T> {
        var changed = Set(old.keys.filter { new[$0] == nil })
        for (key, object) in new where old[key].map(version) != .some(version(object)) || version(object) == nil {
            changed.insert(key)
        }
        return CacheUpdate(objects: new, changed: changed)
    }
}

/// Where a loop's sources leave their updates: the newest cache of each source, and the keys changed since a
/// sync last took them. Sources write from their own tasks and the loop takes; the lock is held only to copy
/// (copy-on-write dictionaries), so it is a leaf.
final class ReconcileInbox: Sendable {
    private struct State {
        var caches: [Int: any Sendable] = [:]
        var changed: [Int: Set<String>] = [:]
        var repair = false
    }

    private let state = Mutex(State())
    private let sourceCount: Int
    private let wakeup: AsyncStream<Void>.Continuation
    /// Yields after anything arrived; a burst of arrivals wakes the loop once.
    let wakeups: AsyncStream<Void>

    init(sourceCount: Int) {
        self.sourceCount = sourceCount
        (wakeups, wakeup) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func put<T>(_ update: CacheUpdate<T>, from source: Int) {
        state.withLock { state in
            state.caches[source] = update.objects
            state.changed[source, default: []].formUnion(update.changed)
        }
        wakeup.yield()
    }

    func requestRepair() {
        state.withLock { $0.repair = true }
        wakeup.yield()
    }

    func wake() { wakeup.yield() }

    func finish() { wakeup.finish() }

    /// Everything that arrived, taken away; nil until every source has delivered its first update (a sync on
    /// part of the cluster's state would undo what is right), and unless `force`d, when nothing changed and no
    /// repair is asked.
    func take(force: Bool) -> (caches: [Int: any Sendable], changed: [Int: Set<String>], repair: Bool)? {
        state.withLock { state in
            guard state.caches.count == sourceCount,
                  force || state.repair || state.changed.values.contains(where: { !$0.isEmpty }) else { return nil }
            defer { state.changed = [:]; state.repair = false }
            return (state.caches, state.changed, state.repair)
        }
    }

    /// Changes a failed sync took: they are due again.
    func giveBack(_ changed: [Int: Set<String>]) {
        state.withLock { state in
            for (source, keys) in changed { state.changed[source, default: []].formUnion(keys) }
        }
    }
}
