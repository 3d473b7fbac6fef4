import Foundation
import KindlingAPI
import KindlingNet
import KindlingProcess

/// Probes and lifecycle hooks: each probe run when due (`ContainerLifecycle.dueProbes`), its verdict applied to
/// the container's record, a container restarted when its liveness or startup probe gives up on it; postStart
/// right after a start, preStop before a stop.
extension PodRuntime {
    func startProbes(_ pod: Pod, _ record: PodRecord) {
        let now = Date()
        for container in pod.spec.allContainers {
            guard let state = record.containers[container.name], let process = state.process else { continue }
            for kind in ContainerLifecycle.dueProbes(state, container: container, now: now) {
                let key = "\(record.uid)/\(container.name)/\(kind.rawValue)"
                guard !probing.contains(key), let probe = kind.probe(of: container),
                      let target = hookTarget(container, record: record) else { continue }
                probing.insert(key)
                Task {
                    let result = await Probes.run(probe, target: target)
                    await self.probed(uid: record.uid, container: container, kind: kind, process: process, result: result)
                }
            }
        }
    }

    func probed(uid: String, container: Container, kind: ProbeKind, process: ProcessRef, result: Probes.Result) {
        probing.remove("\(uid)/\(container.name)/\(kind.rawValue)")
        guard let pod = desired[uid], let before = records[uid]?.containers[container.name], before.process == process,
              before.killDeadline == nil else { return }
        var (state, restart) = ContainerLifecycle.probed(before, kind, ok: result.ok, container: container, at: Date())
        if !result.ok {
            report(pod, container: container.name, type: "Warning", reason: "Unhealthy", message: "\(kind.title) probe failed: \(result.message)")
        }
        if restart {
            let grace = kind.probe(of: container)?.terminationGracePeriodSeconds
            state = kill(container, of: pod, state, reason: "Container \(container.name) failed \(kind.rawValue) probe, will be restarted", grace: grace)
        }
        if state != before { passRequested = true }
        records[uid]?.containers[container.name] = state
    }

    /// Where a container's probes and hooks reach it; nil while its pod has no record.
    func hookTarget(_ container: Container, pod: Pod) -> Probes.Target? {
        pod.metadata.uid.flatMap { records[$0] }.flatMap { hookTarget(container, record: $0) }
    }

    func hookTarget(_ container: Container, record: PodRecord) -> Probes.Target? {
        Probes.Target(ip: record.ip, container: container, netns: NetNamespace(record.netns), sandboxPID: record.sandbox?.pid,
                      environment: record.containers[container.name]?.environment ?? [:])
    }

    /// kubelet runs postStart right after the start; a hook that fails has the container killed (and restarted
    /// per its policy), with a FailedPostStartHook event.
    func runPostStart(_ hook: Lifecycle.Handler, _ container: Container, of pod: Pod, process: ProcessRef, environment: [String: String]) {
        guard let uid = pod.metadata.uid, let record = records[uid], var target = hookTarget(container, record: record) else { return }
        target.environment = environment
        Task {
            let result = await Probes.run(Probes.Action(hook), target: target, timeout: Double(pod.spec.terminationGracePeriodSeconds ?? 30))
            guard !result.ok else { return }
            await self.postStartFailed(uid: uid, container: container, process: process, message: result.message)
        }
    }

    func postStartFailed(uid: String, container: Container, process: ProcessRef, message: String) {
        guard let pod = desired[uid], let state = records[uid]?.containers[container.name], state.process == process else { return }
        report(pod, container: container.name, type: "Warning", reason: "FailedPostStartHook", message: message)
        records[uid]?.containers[container.name] = kill(container, of: pod, state, reason: "FailedPostStartHook", grace: nil)
        passRequested = true
    }

    /// preStop, given at most the grace period; a failure is reported, and the stop goes on.
    func runPreStop(_ hook: Lifecycle.Handler, target: Probes.Target, pod: Pod, container: String, grace: Int64) async {
        let result = await Probes.run(Probes.Action(hook), target: target, timeout: Double(grace))
        if !result.ok {
            report(pod, container: container, type: "Warning", reason: "FailedPreStopHook",
                   message: "PreStopHook failed: \(result.message)")
        }
    }
}
