import KindlingAPI
import KindlingReconcile

/// One list+watch of a kind shared by several loops of a process, so an agent opens one watch per kind
/// instead of one per loop. Each subscriber is handed every update (the cache and its changed keys) as it
/// happens; subscribers only store it, so none can hold up the others.
public actor SharedInformer<T: KubeObject> {
    private let informer: Informer<T>
    private var subscribers: [Int: @Sendable (CacheUpdate<T>) -> Void] = [:]
    private var nextSubscriber = 0
    private var latest: [String: T]?

    public init(_ informer: Informer<T>) { self.informer = informer }

    /// Hands `deliver` the current cache (all of it changed, as far as a new subscriber knows) and every
    /// update after it, until the calling task is cancelled.
    public nonisolated func feed(_ deliver: @escaping @Sendable (CacheUpdate<T>) -> Void) async {
        let id = await add(deliver)
        // Held until cancelled; then the subscriber goes.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        await remove(id)
    }

    /// The whole caches from now on, the current one first if there is one: the newest only, when the reader
    /// is still busy with an older one.
    public nonisolated func caches() async -> AsyncStream<[String: T]> {
        let (stream, continuation) = AsyncStream<[String: T]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = await add { continuation.yield($0.objects) }
        continuation.onTermination = { _ in Task { await self.remove(id) } }
        return stream
    }

    private func add(_ deliver: @escaping @Sendable (CacheUpdate<T>) -> Void) -> Int {
        nextSubscriber += 1
        subscribers[nextSubscriber] = deliver
        if let latest { deliver(CacheUpdate(objects: latest, changed: Set(latest.keys))) }
        return nextSubscriber
    }

    private func remove(_ id: Int) { subscribers[id] = nil }

    func publish(_ update: CacheUpdate<T>) {
        latest = update.objects
        for subscriber in subscribers.values { subscriber(update) }
    }

    /// Runs the underlying informer until cancelled.
    public nonisolated func run() async {
        await informer.run { update in await self.publish(update) }
    }
}
