import Foundation
import KindlingAPI

/// Records Events for the control plane's controllers, as Kubernetes' event recorder does for
/// kube-controller-manager and the scheduler: best effort (a failed record never fails the controller), and a
/// repeat of one report on one object counts up instead of adding another Event.
struct EventRecorder: Sendable {
    let component: String

    func record<T: KubeObject>(_ registry: Registry, _ object: T, type: String = "Normal", reason: String, message: String) {
        let now = Timestamp.string()
        let event = Event.report(about: object, type: type, reason: reason, message: message, source: .init(component: component), now: now)
        do {
            try registry.modify(Event.self, namespace: event.namespace, name: event.name) { current in
                var next = current
                next.repeated(now: now)
                return next
            }
        } catch {
            _ = try? registry.create(event)
        }
    }
}

/// kube-apiserver's `--event-ttl` (1 h): older Events go.
struct EventTTLController: Controller {
    let name = "event-ttl"
    static let ttl: TimeInterval = 3600

    func run(_ registry: Registry) async throws {
        while !Task.isCancelled {
            let cutoff = Date().addingTimeInterval(-EventTTLController.ttl)
            for event in try registry.list(Event.self).items
                where (event.lastTimestamp ?? event.metadata.creationTimestamp).flatMap(Timestamp.date).map({ $0 < cutoff }) ?? false {
                _ = try? registry.delete(Event.self, namespace: event.namespace, name: event.name)
            }
            try await Task.sleep(for: .seconds(60))
        }
    }
}
