import Foundation
import KindlingAPI

/// What the server does with fields of a request body that the type does not have: the `fieldValidation`
/// query parameter of POST, PUT and PATCH. Kubernetes' default is `Warn`; kubectl sends `Strict`.
public enum FieldValidation: String, Sendable, CaseIterable {
    case ignore = "Ignore"
    case warn = "Warn"
    case strict = "Strict"

    /// The parameter's value; nil (absent) is `Warn`, anything else is the client's error.
    public init(parameter: String?) throws(Status) {
        guard let parameter, !parameter.isEmpty else {
            self = .warn
            return
        }
        guard let value = FieldValidation(rawValue: parameter) else {
            throw Status.badRequest("fieldValidation: Unsupported value: \"\(parameter)\": supported values: \"Ignore\", \"Strict\", \"Warn\"")
        }
        self = value
    }

    /// The fields of `body` that decoding dropped: present (and not null or empty) in the body, absent from `decoded`
    /// (the object decoded from it and encoded again). Paths as Kubernetes names them, `spec.ports[0].foo`, in
    /// the order they appear when keys are sorted.
    public static func unknownFields(body: Any, decoded: Any) -> [String] {
        var found: [String] = []
        collect(body, decoded, path: "", into: &found)
        return found
    }

    static func collect(_ body: Any, _ decoded: Any?, path: String, into found: inout [String]) {
        switch body {
        case let map as [String: Any]:
            let known = decoded as? [String: Any]
            // A null or empty value carries nothing to drop (kubectl's own objects carry `resources: {}`).
            for key in map.keys.sorted() where !(map[key] is NSNull) && (map[key] as? [String: Any])?.isEmpty != true
                && (map[key] as? [Any])?.isEmpty != true {
                let field = path.isEmpty ? key : "\(path).\(key)"
                guard let knownValue = known?[key] else {
                    found.append(field)
                    continue
                }
                collect(map[key]!, knownValue, path: field, into: &found)
            }
        case let list as [Any]:
            let known = decoded as? [Any] ?? []
            for (index, item) in list.enumerated() where index < known.count {
                collect(item, known[index], path: "\(path)[\(index)]", into: &found)
            }
        default:
            return
        }
    }

    /// The unknown fields of a `T` decoded from `body` (JSON); empty when the body is not a JSON object.
    public static func unknownFields<T: KubeObject>(of object: T, body: Data) -> [String] {
        guard let tree = try? JSONSerialization.jsonObject(with: body), let known = try? KubeJSON.tree(object) else { return [] }
        return unknownFields(body: tree, decoded: known)
    }

    /// The outcome of checking a body's unknown fields under `validation` for `kind`: fields Kubernetes has
    /// but kindling does not implement are warnings; fields Kubernetes does not have either are an error
    /// under Strict (kube-apiserver's strict decoding message) and warnings under Warn.
    /// The unknown fields of a kind defined by a schema (`custom`) are what the schema pruned: all foreign.
    public static func check(kind: String, apiVersion: String, custom: Bool = false, unknown: [String],
                             _ validation: FieldValidation) throws(Status) -> [String] {
        guard validation != .ignore, !unknown.isEmpty else { return [] }
        var unimplemented: [String] = [], foreign: [String] = []
        for field in unknown {
            if !custom && KubernetesFields.has(kind: kind, path: field) { unimplemented.append(field) } else { foreign.append(field) }
        }
        if validation == .strict, !foreign.isEmpty {
            let list = foreign.map { "unknown field \"\($0)\"" }.joined(separator: ", ")
            throw Status.badRequest("\(kind) in version \"\(apiVersion.split(separator: "/").last ?? "")\" cannot be handled as a \(kind): strict decoding error: \(list)")
        }
        return foreign.map { "unknown field \"\($0)\"" } + unimplemented.map { "\($0): kindling does not implement this field; it was dropped" }
    }
}

/// Which fields Kubernetes' own types have, at the levels where kindling's types implement only some of them.
/// A field kindling lacks but Kubernetes has is dropped with a warning (kindling does not implement it), never
/// refused: real manifests carry resources, volumes and tolerations. Only a field missing from a level listed
/// here is one Kubernetes would not know either (a typo); at levels not listed, every dropped field is taken for
/// Kubernetes' own. Names from the Kubernetes API reference (core/v1, apps/v1).
public enum KubernetesFields {
    static let objectMeta: Set = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
                                  "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
                                  "ownerReferences", "finalizers", "managedFields"]
    static let podSpec: Set = ["volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy",
                               "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector",
                               "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork",
                               "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname",
                               "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority",
                               "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead",
                               "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates",
                               "resourceClaims", "resources", "hostnameOverride", "workloadRef"]
    static let container: Set = ["name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
                                 "resizePolicy", "restartPolicy", "restartPolicyRules", "volumeMounts", "volumeDevices",
                                 "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
                                 "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"]
    static let containerPort: Set = ["name", "hostPort", "containerPort", "protocol", "hostIP"]
    static let envVar: Set = ["name", "value", "valueFrom"]
    static let probe: Set = ["exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                             "successThreshold", "failureThreshold", "terminationGracePeriodSeconds"]
    static let serviceSpec: Set = ["ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity",
                                   "loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
                                   "healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies",
                                   "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy",
                                   "trafficDistribution"]
    static let servicePort: Set = ["name", "protocol", "appProtocol", "port", "targetPort", "nodePort"]
    static let workloadSpec: [String: Set<String>] = [
        "Deployment": ["replicas", "selector", "template", "strategy", "minReadySeconds", "revisionHistoryLimit", "paused",
                       "progressDeadlineSeconds", "podReplacementPolicy"],
        "ReplicaSet": ["replicas", "minReadySeconds", "selector", "template"],
        "DaemonSet": ["selector", "template", "updateStrategy", "minReadySeconds", "revisionHistoryLimit"],
        "StatefulSet": ["replicas", "selector", "template", "volumeClaimTemplates", "serviceName", "podManagementPolicy", "updateStrategy",
                        "revisionHistoryLimit", "minReadySeconds", "persistentVolumeClaimRetentionPolicy", "ordinals"],
        "ReplicationController": ["replicas", "minReadySeconds", "selector", "template"],
        "CronJob": ["schedule", "timeZone", "startingDeadlineSeconds", "concurrencyPolicy", "suspend", "jobTemplate",
                    "successfulJobsHistoryLimit", "failedJobsHistoryLimit"],
        "Job": ["parallelism", "completions", "activeDeadlineSeconds", "podFailurePolicy", "successPolicy", "backoffLimit",
                "backoffLimitPerIndex", "maxFailedIndexes", "selector", "manualSelector", "template", "ttlSecondsAfterFinished",
                "completionMode", "suspend", "podReplacementPolicy", "managedBy"],
    ]
    static let object: Set = ["apiVersion", "kind", "metadata", "spec", "status"]
    static let topLevel: [String: Set<String>] = [
        "ConfigMap": ["apiVersion", "kind", "metadata", "data", "binaryData", "immutable"],
        "ServiceAccount": ["apiVersion", "kind", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken"],
        "Secret": ["apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"],
        "Lease": ["apiVersion", "kind", "metadata", "spec"],
        "StorageClass": ["apiVersion", "kind", "metadata", "provisioner", "parameters", "reclaimPolicy", "mountOptions", "allowVolumeExpansion",
                         "volumeBindingMode", "allowedTopologies"],
        "NetworkPolicy": ["apiVersion", "kind", "metadata", "spec"],
        "Ingress": ["apiVersion", "kind", "metadata", "spec", "status"],
        "IngressClass": ["apiVersion", "kind", "metadata", "spec"],
        "Endpoints": ["apiVersion", "kind", "metadata", "subsets"],
        "EndpointSlice": ["apiVersion", "kind", "metadata", "addressType", "endpoints", "ports"],
        "Event": ["apiVersion", "kind", "metadata", "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp",
                  "count", "type", "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance"],
    ]

    /// Whether Kubernetes' `kind` has the field at `path` (`spec.template.spec.containers[0].resources`), as far
    /// as kindling knows: true at levels it has no table for.
    public static func has(kind: String, path: String) -> Bool {
        var parts = path.replacing(/\[\d+\]/, with: "").split(separator: ".").map(String.init)
        guard let field = parts.popLast() else { return false }
        guard let known = fields(kind: kind, parent: parts) else { return true }
        return known.contains(field)
    }

    /// The fields of what sits at `parent` in a `kind`, or nil where kindling keeps no table.
    static func fields(kind: String, parent: [String]) -> Set<String>? {
        if parent.isEmpty { return topLevel[kind] ?? object }
        if parent == ["metadata"] { return objectMeta }
        if let spec = workloadSpec[kind] {
            if parent == ["spec"] { return spec }
            if parent == ["spec", "template"] { return ["metadata", "spec"] }
            return PodTemplatePath.inside(kind: kind, path: parent).flatMap(podFields)
        }
        switch (kind, parent) {
        case ("Pod", _): return podFields(parent: parent)
        case ("Service", ["spec"]): return serviceSpec
        case ("Service", ["spec", "ports"]): return servicePort
        default: return nil
        }
    }

    /// The fields of what sits at `parent` inside a pod (or pod template): its spec, containers, probes.
    static func podFields(parent: [String]) -> Set<String>? {
        switch parent {
        case ["metadata"]: objectMeta
        case ["spec"]: podSpec
        case ["spec", "containers"], ["spec", "initContainers"]: container
        case ["spec", "containers", "ports"], ["spec", "initContainers", "ports"]: containerPort
        case ["spec", "containers", "env"], ["spec", "initContainers", "env"]: envVar
        case ["spec", "containers", "livenessProbe"], ["spec", "containers", "readinessProbe"], ["spec", "containers", "startupProbe"],
             ["spec", "initContainers", "livenessProbe"], ["spec", "initContainers", "readinessProbe"], ["spec", "initContainers", "startupProbe"]: probe
        default: nil
        }
    }
}
