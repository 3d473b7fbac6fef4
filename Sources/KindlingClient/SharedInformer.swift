import KindlingAPI

/// One list+watch of a kind shared by several loops of a process: each subscriber gets the whole cache after
/// every change (only the newest, if it is still busy with an older one), so an agent opens one watch per
/// kind instead of one per loop.
public actor SharedInformer<T: KubeObject> {
    private let informer: Informer<T>
    private var subscribers: [AsyncStream<[String: T]>.Continuation] = []
    private var latest: [String: T]?

    public init(_ informer: Informer<T>) { self.informer = informer }

    /// The caches from now on, starting with the current one if there is one already.
    public func subscribe() -> AsyncStream<[String: T]> {
        let (stream, continuation) = AsyncStream<[String: T]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        if let latest { continuation.yield(latest) }
        subscribers.append(continuation)
        return stream
    }

    func publish(_ cache: [String: T]) {
        latest = cache
        for subscriber in subscribers { subscriber.yield(cache) }
    }

    /// Runs the underlying informer until cancelled.
    public nonisolated func run() async {
        await informer.run { cache in await self.publish(cache) }
    }
}
