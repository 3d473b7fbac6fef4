import Foundation
import KindlingAPI

/// kube-apiserver's ServiceAccount admission plugin: a new pod runs as `default` unless it names an account,
/// the account must exist, and unless the pod or its account turns automounting off, the pod gets the
/// projected `kube-api-access-<suffix>` volume (a token bound to it, the cluster CA, its namespace) mounted
/// read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container.
public struct ServiceAccountAdmission: Admission {
    public static let mountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
    /// kubelet's token lifetime: an hour and seven seconds, so a token's age tells it came from a projected volume.
    public static let tokenSeconds: Int64 = 3607

    public init() {}

    /// A namespace's `default` account is made by a controller just after the namespace: a pod created in
    /// that moment waits for it a little (up to a second), as kube-apiserver's plugin retries its lookup. Called
    /// before admission, which runs under the registry's lock the controller's write needs.
    public static func awaitDefaultAccount(_ pod: Pod, namespace: String, registry: Registry) {
        let name = pod.spec.serviceAccountName.flatMap { $0.isEmpty ? nil : $0 } ?? ServiceAccount.defaultName
        guard name == ServiceAccount.defaultName else { return }
        for _ in 0..<10 {
            if (try? registry.get(ServiceAccount.self, namespace: namespace, name: ServiceAccount.defaultName)) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    public func admit<T: APIObject>(_ object: T, old: T?, registry: Registry) throws -> T {
        guard old == nil, let pod = object as? Pod else { return object }
        let name = pod.spec.serviceAccountName.flatMap { $0.isEmpty ? nil : $0 } ?? ServiceAccount.defaultName
        guard let account = try? registry.get(ServiceAccount.self, namespace: pod.namespace, name: name) else {
            throw Status.forbidden(Pod.groupResource, pod.name,
                                   "error looking up service account \(pod.namespace)/\(name): serviceaccount \"\(name)\" not found")
        }
        return Self.mounted(pod, account: account, suffix: Registry.randomSuffix()) as! T
    }

    /// The pod as admitted with `account`: named as its account, and with the token volume unless automounting
    /// is off (the pod's setting wins over the account's) or a container already mounts something there. Pure.
    public static func mounted(_ pod: Pod, account: ServiceAccount, suffix: String) -> Pod {
        var pod = pod
        pod.spec.serviceAccountName = account.name
        pod.spec.serviceAccount = account.name
        guard pod.spec.automountServiceAccountToken ?? account.automountServiceAccountToken ?? true else { return pod }
        let containers = pod.spec.allContainers
        guard !containers.contains(where: { ($0.volumeMounts ?? []).contains { $0.mountPath == mountPath } }) else { return pod }
        let volume = "kube-api-access-\(suffix)"
        pod.spec.volumes = (pod.spec.volumes ?? []) + [Volume(name: volume, projected: ProjectedVolumeSource(sources: [
            .init(serviceAccountToken: .init(expirationSeconds: tokenSeconds, path: "token")),
            .init(configMap: .init(name: RootCAPublisher.configMapName, items: [KeyToPath(key: "ca.crt", path: "ca.crt")])),
            .init(downwardAPI: .init(items: [.init(path: "namespace", fieldPath: "metadata.namespace")])),
        ], defaultMode: 0o644))]
        let mount = VolumeMount(name: volume, mountPath: mountPath, readOnly: true)
        for index in pod.spec.containers.indices { pod.spec.containers[index].volumeMounts = (pod.spec.containers[index].volumeMounts ?? []) + [mount] }
        for index in (pod.spec.initContainers ?? []).indices {
            pod.spec.initContainers![index].volumeMounts = (pod.spec.initContainers![index].volumeMounts ?? []) + [mount]
        }
        return pod
    }
}
