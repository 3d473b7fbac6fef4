import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingClient
import Logging

/// Registers the Node and posts its status with a Ready heartbeat, as a kubelet does.
struct NodeStatusLoop: Sendable {
    let nodeName: String
    let labels: [String: String]
    let taints: [Node.Taint]
    let address: IPv4Address
    let client: APIClient
    let logger: Logger
    /// kubelet's default nodeStatusUpdateFrequency (see NodeTiming).
    let heartbeat = NodeTiming.heartbeat()

    func run() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                try await register()
                while !Task.isCancelled {
                    try await postStatus()
                    // A Lease not renewed must not stop the Node's own heartbeat.
                    do { try await renewLease() } catch { logger.warning("node lease: \(error)") }
                    backoff.succeeded()
                    try await Task.sleep(for: heartbeat)
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("node status: \(error); retrying")
                try? await Task.sleep(for: backoff.failed())
            }
        }
    }

    /// Labels every kind node carries, plus those from the cluster config.
    var nodeLabels: [String: String] {
        var all = ["kubernetes.io/hostname": nodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                   "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"]
        all.merge(labels) { _, configured in configured }
        return all
    }

    func register() async throws {
        do {
            _ = try await client.get(Node.self, name: nodeName)
        } catch let status as Status where status.code == 404 {
            _ = try await client.create(Node(name: nodeName, labels: nodeLabels, taints: taints))
            logger.info("registered node \(nodeName)")
        }
    }

    /// The node's Lease in kube-node-lease, held by the node and renewed with each heartbeat (kubelet's 40 s
    /// duration), owned by the Node so it goes with it.
    func renewLease() async throws {
        let now = Timestamp.preciseString()
        do {
            var lease = try await client.get(Lease.self, namespace: Lease.nodeLeaseNamespace, name: nodeName)
            lease.spec = lease.spec ?? Lease.Spec()
            lease.spec?.holderIdentity = nodeName
            lease.spec?.renewTime = now
            _ = try await client.update(lease)
        } catch let status as Status where status.code == 404 {
            let node = try await client.get(Node.self, name: nodeName)
            var lease = Lease(namespace: Lease.nodeLeaseNamespace, name: nodeName,
                              spec: .init(holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: now))
            if let uid = node.metadata.uid {
                lease.metadata.ownerReferences = [OwnerReference(apiVersion: "v1", kind: "Node", name: nodeName, uid: uid, controller: nil, blockOwnerDeletion: nil)]
            }
            _ = try await client.create(lease, namespace: Lease.nodeLeaseNamespace)
        }
    }

    func postStatus() async throws {
        var node = try await client.get(Node.self, name: nodeName)
        let now = Timestamp.string()
        var status = node.status ?? Node.Status()
        var conditions = status.conditions ?? []
        var ready = Condition(type: "Ready", status: "True", reason: "KubeletReady", message: "kindling agent is posting ready status")
        ready.lastHeartbeatTime = now
        conditions.set(ready, now: now)
        status.conditions = conditions
        status.addresses = [.init(type: "InternalIP", address: address.description), .init(type: "Hostname", address: nodeName)]
        status.capacity = NodeStatusLoop.capacity
        status.allocatable = NodeStatusLoop.capacity
        status.nodeInfo = NodeStatusLoop.nodeInfo
        node.status = status
        _ = try await client.updateStatus(node)
    }

    static let capacity: [String: String] = [
        "cpu": String(ProcessInfo.processInfo.activeProcessorCount),
        "memory": "\(ProcessInfo.processInfo.physicalMemory / 1024)Ki",
        "pods": "110",
        "ephemeral-storage": "0",
    ]

    static let nodeInfo: Node.NodeInfo = {
        var info = Node.NodeInfo()
        var name = utsname()
        uname(&name)
        info.kernelVersion = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let osRelease = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        info.osImage = osRelease.split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
            .map { $0.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "Linux"
        info.containerRuntimeVersion = "kindling://0.1.0"
        info.kubeletVersion = KubernetesVersion.gitVersion
        info.kubeProxyVersion = KubernetesVersion.gitVersion
        info.machineID = (try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return info
    }()
}
