import Foundation

/// How often agents post node status and how long the control plane waits before calling a silent node
/// NotReady: kubelet's 10 s and kube-controller-manager's 40 s. KINDLING_NODE_MONITOR_GRACE_PERIOD
/// (seconds, in the environment of `create cluster`) shortens both, for tests and demos of node failure.
public enum NodeTiming {
    public static let variable = "KINDLING_NODE_MONITOR_GRACE_PERIOD"

    public static func gracePeriod(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> TimeInterval {
        environment[variable].flatMap(TimeInterval.init).map { max(1, $0) } ?? 40
    }

    public static let evictionVariable = "KINDLING_POD_EVICTION_TIMEOUT"

    /// How long a node stays NotReady before its pods are deleted, so that their controllers make them again
    /// elsewhere: the 300 s of the `node.kubernetes.io/unreachable` toleration Kubernetes gives every pod.
    /// KINDLING_POD_EVICTION_TIMEOUT (seconds, in the environment of `create cluster`) shortens it.
    public static func evictionTimeout(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> TimeInterval {
        environment[evictionVariable].flatMap(TimeInterval.init).map { max(0, $0) } ?? 300
    }

    /// A quarter of the grace period, at most 10 s: four missed heartbeats make a node NotReady.
    public static func heartbeat(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration {
        .milliseconds(Int(min(10, gracePeriod(environment) / 4) * 1000))
    }
}
