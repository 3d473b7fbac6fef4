import Foundation
import KindlingAPI
import KindlingProcess

/// The order kubelet runs a pod's containers in, as pure decisions over its record: init containers one at a
/// time, each to a successful exit, sidecars (init containers with `restartPolicy: Always`) each until it has
/// started and then beside the rest; the pod's containers once all that is done; sidecars stopped when the
/// pod's containers have all ended for good.
enum InitOrder {
    enum Role: Equatable {
        case initContainer, sidecar, main, ephemeral
    }

    static func role(of container: Container, in spec: PodSpec) -> Role {
        if spec.ephemeralContainers?.contains(where: { $0.name == container.name }) == true { return .ephemeral }
        guard spec.initContainers?.contains(where: { $0.name == container.name }) == true else { return .main }
        return container.isSidecar ? .sidecar : .initContainer
    }

    /// The restartPolicy a container lives by: an init container's is the pod's but for Always, which means
    /// OnFailure for it (a completed init container is done); a sidecar restarts always until the pod is done.
    static func restartPolicy(_ role: Role, pod spec: PodSpec, podDone: Bool) -> String {
        let policy = spec.restartPolicy ?? "Always"
        switch role {
        case .main: return policy
        case .initContainer: return policy == "Always" ? "OnFailure" : policy
        case .sidecar: return podDone ? "Never" : "Always"
        case .ephemeral: return "Never"
        }
    }

    struct Progress: Equatable {
        /// The containers that may run now (started when not running).
        var runnable: [String]
        /// Every init container completed and every sidecar started.
        var initialized: Bool
        /// An init container failed and will not run again (restartPolicy Never): the pod has failed.
        var failed: Bool
        /// The init containers not yet done, for the Initialized condition.
        var incomplete: [String]
    }

    /// Where the pod's initialization stands. Once `record.initialized`, every sidecar and container may run.
    static func progress(_ spec: PodSpec, _ record: PodRecord) -> Progress {
        let inits = spec.initContainers ?? []
        if record.initialized || inits.isEmpty {
            return Progress(runnable: spec.sidecars.map(\.name) + spec.containers.map(\.name), initialized: true, failed: false, incomplete: [])
        }
        var runnable: [String] = []
        for (index, container) in inits.enumerated() {
            let state = record.containers[container.name] ?? ContainerRecord()
            let incomplete = inits[index...].map(\.name)
            if container.isSidecar {
                runnable.append(container.name)
                if state.process != nil && state.startupPassed { continue }
                return Progress(runnable: runnable, initialized: false, failed: false, incomplete: incomplete)
            }
            if state.process == nil && state.lastExitCode == 0 { continue }
            let policy = restartPolicy(.initContainer, pod: spec, podDone: false)
            if state.process == nil, state.lastExitCode != nil, !ContainerLifecycle.shouldRun(restartPolicy: policy, state) {
                return Progress(runnable: runnable, initialized: false, failed: true, incomplete: incomplete)
            }
            runnable.append(container.name)
            return Progress(runnable: runnable, initialized: false, failed: false, incomplete: incomplete)
        }
        return Progress(runnable: spec.sidecars.map(\.name) + spec.containers.map(\.name), initialized: true, failed: false, incomplete: [])
    }

    /// Whether a container may be started now: by `progress`, or any time for an ephemeral one (it is run once,
    /// whatever the pod is doing, as kubelet runs `kubectl debug`'s).
    static func mayRun(_ container: Container, in spec: PodSpec, _ progress: Progress) -> Bool {
        progress.runnable.contains(container.name) || role(of: container, in: spec) == .ephemeral
    }

    /// Whether the pod's own containers have all ended and none will run again: its sidecars are stopped then.
    /// Never for a pod whose restartPolicy is Always.
    static func mainDone(_ spec: PodSpec, _ record: PodRecord) -> Bool {
        guard record.initialized else { return false }
        return spec.containers.allSatisfy { container in
            guard let state = record.containers[container.name], state.process == nil, state.lastExitCode != nil else { return false }
            return !ContainerLifecycle.shouldRun(restartPolicy: spec.restartPolicy, state)
        }
    }
}
