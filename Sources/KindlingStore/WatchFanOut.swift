import Foundation

/// Hands the store's events to its watchers on a thread of its own, in the order the store queued them.
///
/// Writers only queue (a list append under this type's own lock, nested inside the store's). The yield into a
/// watcher's stream, which may resume the watching task and so take the Swift runtime's locks of that task,
/// happens on this thread under no lock at all. A watch cancelled meanwhile runs its termination handler
/// while the runtime holds that task's lock, and the handler takes the store's lock: were a writer yielding
/// while holding the store's lock, the two would wait for each other forever (issue 15).
final class WatchFanOut: @unchecked Sendable {
    typealias Continuation = AsyncStream<StoreEvent>.Continuation

    struct Delivery {
        let events: [StoreEvent]
        let to: [Continuation]
    }

    private let condition = NSCondition()
    private var queue: [Delivery] = []
    private var stopped = false

    init() {
        let thread = Thread { [self] in run() }
        thread.name = "kindling.store.fan-out"
        thread.start()
    }

    /// Queues `events` for `watchers`; never blocks on them.
    func send(_ events: [StoreEvent], to watchers: [Continuation]) {
        guard !events.isEmpty, !watchers.isEmpty else { return }
        condition.withLock {
            queue.append(Delivery(events: events, to: watchers))
            condition.signal()
        }
    }

    /// Ends the thread once what is queued has been handed over.
    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopped { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                return
            }
            var batch: [Delivery] = []
            swap(&batch, &queue)
            condition.unlock()
            for delivery in batch {
                for watcher in delivery.to {
                    for event in delivery.events { watcher.yield(event) }
                }
            }
        }
    }
}
