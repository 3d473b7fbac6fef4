import KindlingAPI

/// The protobuf messages of the kinds kindling serves: field numbers and JSON names from Kubernetes'
/// generated.proto files (core/v1 and apps/v1 as of 1.36, meta/v1 of apimachinery 0.26, runtime, intstr,
/// resource). Only what a create request carries is listed; fields missing here are skipped when decoding.
public enum ProtobufSchema {
    public indirect enum FieldType: Equatable, Sendable {
        case string, bytes, int, int32, bool, time, intOrString, quantity
        case message(String)
        /// A Go struct embedded in its parent: its fields appear in the parent's JSON object.
        case embedded(String)

        var isVarint: Bool { self == .int || self == .int32 || self == .bool }
        var isMessage: Bool { if case .message = self { true } else { false } }
    }

    public enum Shape: Equatable, Sendable { case single, repeated, map(FieldType) }

    public struct Field: Sendable {
        let name: String
        let type: FieldType
        let shape: Shape
        /// A pointer in Kubernetes' Go type: a zero value was set on purpose and stays.
        let keepZero: Bool
    }

    static func one(_ name: String, _ type: FieldType, pointer: Bool = false) -> Field { Field(name: name, type: type, shape: .single, keepZero: pointer) }
    static func list(_ name: String, _ type: FieldType) -> Field { Field(name: name, type: type, shape: .repeated, keepZero: false) }
    static func map(_ name: String, _ value: FieldType = .string) -> Field { Field(name: name, type: value, shape: .map(.string), keepZero: false) }

    /// The top-level message of each kind.
    static let messageForKind = [
        "Namespace": "core.Namespace", "Service": "core.Service", "Pod": "core.Pod", "ConfigMap": "core.ConfigMap",
        "Secret": "core.Secret", "Deployment": "apps.Deployment", "ReplicaSet": "apps.ReplicaSet", "Job": "batch.Job", "CronJob": "batch.CronJob",
        "Ingress": "networking.Ingress", "ServiceAccount": "core.ServiceAccount", "TokenRequest": "authentication.TokenRequest",
        "Role": "rbac.Role", "ClusterRole": "rbac.ClusterRole", "RoleBinding": "rbac.RoleBinding", "ClusterRoleBinding": "rbac.ClusterRoleBinding",
        "SelfSubjectAccessReview": "authorization.SelfSubjectAccessReview", "SelfSubjectReview": "authentication.SelfSubjectReview",
        "SelfSubjectRulesReview": "authorization.SelfSubjectRulesReview", "SubjectAccessReview": "authorization.SubjectAccessReview",
        "LocalSubjectAccessReview": "authorization.SubjectAccessReview", "TokenReview": "authentication.TokenReview",
        "Eviction": "policy.Eviction", "PodDisruptionBudget": "policy.PodDisruptionBudget",
    ]

    static let messages: [String: [Int: Field]] = [
        // meta/v1
        "meta.ObjectMeta": [1: one("name", .string), 2: one("generateName", .string), 3: one("namespace", .string),
                            5: one("uid", .string), 6: one("resourceVersion", .string), 7: one("generation", .int),
                            8: one("creationTimestamp", .time), 9: one("deletionTimestamp", .time),
                            10: one("deletionGracePeriodSeconds", .int, pointer: true), 11: map("labels"), 12: map("annotations"),
                            13: list("ownerReferences", .message("meta.OwnerReference")), 14: list("finalizers", .string)],
        "meta.OwnerReference": [5: one("apiVersion", .string), 1: one("kind", .string), 3: one("name", .string), 4: one("uid", .string),
                                6: one("controller", .bool, pointer: true), 7: one("blockOwnerDeletion", .bool, pointer: true)],
        "meta.LabelSelector": [1: map("matchLabels"), 2: list("matchExpressions", .message("meta.LabelSelectorRequirement"))],
        "meta.DeleteOptions": [1: one("gracePeriodSeconds", .int, pointer: true), 2: one("preconditions", .message("meta.Preconditions")),
                               3: one("orphanDependents", .bool, pointer: true), 4: one("propagationPolicy", .string, pointer: true),
                               5: list("dryRun", .string)],
        "meta.Preconditions": [1: one("uid", .string, pointer: true), 2: one("resourceVersion", .string, pointer: true)],
        "policy.Eviction": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("deleteOptions", .message("meta.DeleteOptions"))],
        "policy.PodDisruptionBudget": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("policy.PodDisruptionBudgetSpec"))],
        "policy.PodDisruptionBudgetSpec": [1: one("minAvailable", .intOrString), 2: one("selector", .message("meta.LabelSelector")),
                                           3: one("maxUnavailable", .intOrString), 4: one("unhealthyPodEvictionPolicy", .string, pointer: true)],
        "meta.LabelSelectorRequirement": [1: one("key", .string), 2: one("operator", .string), 3: list("values", .string)],

        // core/v1
        "core.Namespace": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("core.NamespaceSpec"))],
        "core.NamespaceSpec": [1: list("finalizers", .string)],
        "core.ConfigMap": [1: one("metadata", .message("meta.ObjectMeta")), 4: one("immutable", .bool, pointer: true),
                           2: map("data"), 3: map("binaryData", .bytes)],
        "core.ServiceAccount": [1: one("metadata", .message("meta.ObjectMeta")), 2: list("secrets", .message("core.ObjectReference")),
                                3: list("imagePullSecrets", .message("core.LocalObjectReference")),
                                4: one("automountServiceAccountToken", .bool, pointer: true)],
        "core.ObjectReference": [1: one("kind", .string), 2: one("namespace", .string), 3: one("name", .string), 4: one("uid", .string),
                                 5: one("apiVersion", .string), 6: one("resourceVersion", .string), 7: one("fieldPath", .string)],
        // authentication/v1 (kubectl create token)
        "authentication.TokenRequest": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("authentication.TokenRequestSpec"))],
        "authentication.TokenRequestSpec": [1: list("audiences", .string), 4: one("expirationSeconds", .int, pointer: true),
                                            3: one("boundObjectRef", .message("authentication.BoundObjectReference"))],
        "authentication.BoundObjectReference": [1: one("kind", .string), 2: one("apiVersion", .string), 3: one("name", .string), 4: one("uid", .string)],
        "authentication.SelfSubjectReview": [1: one("metadata", .message("meta.ObjectMeta"))],
        // rbac/v1 (kubectl create role, clusterrole, rolebinding, clusterrolebinding)
        "rbac.Role": [1: one("metadata", .message("meta.ObjectMeta")), 2: list("rules", .message("rbac.PolicyRule"))],
        "rbac.ClusterRole": [1: one("metadata", .message("meta.ObjectMeta")), 2: list("rules", .message("rbac.PolicyRule"))],
        "rbac.PolicyRule": [1: list("verbs", .string), 2: list("apiGroups", .string), 3: list("resources", .string),
                            4: list("resourceNames", .string), 5: list("nonResourceURLs", .string)],
        "rbac.RoleBinding": [1: one("metadata", .message("meta.ObjectMeta")), 2: list("subjects", .message("rbac.Subject")),
                             3: one("roleRef", .message("rbac.RoleRef"))],
        "rbac.ClusterRoleBinding": [1: one("metadata", .message("meta.ObjectMeta")), 2: list("subjects", .message("rbac.Subject")),
                                    3: one("roleRef", .message("rbac.RoleRef"))],
        "rbac.Subject": [1: one("kind", .string), 2: one("apiGroup", .string), 3: one("name", .string), 4: one("namespace", .string)],
        "rbac.RoleRef": [1: one("apiGroup", .string), 2: one("kind", .string), 3: one("name", .string)],
        // authorization/v1 (kubectl auth can-i)
        "authorization.SelfSubjectAccessReview": [1: one("metadata", .message("meta.ObjectMeta")),
                                                  2: one("spec", .message("authorization.SelfSubjectAccessReviewSpec"))],
        "authorization.SelfSubjectAccessReviewSpec": [1: one("resourceAttributes", .message("authorization.ResourceAttributes")),
                                                      2: one("nonResourceAttributes", .message("authorization.NonResourceAttributes"))],
        "authorization.ResourceAttributes": [1: one("namespace", .string), 2: one("verb", .string), 3: one("group", .string),
                                             4: one("version", .string), 5: one("resource", .string), 6: one("subresource", .string),
                                             7: one("name", .string)],
        "authorization.NonResourceAttributes": [1: one("path", .string), 2: one("verb", .string)],
        "authorization.SelfSubjectRulesReview": [1: one("metadata", .message("meta.ObjectMeta")),
                                                 2: one("spec", .message("authorization.SelfSubjectRulesReviewSpec"))],
        "authorization.SelfSubjectRulesReviewSpec": [1: one("namespace", .string)],
        // LocalSubjectAccessReview has the same fields. `extra` (a map of ExtraValue messages) is skipped.
        "authorization.SubjectAccessReview": [1: one("metadata", .message("meta.ObjectMeta")),
                                              2: one("spec", .message("authorization.SubjectAccessReviewSpec"))],
        "authorization.SubjectAccessReviewSpec": [1: one("resourceAttributes", .message("authorization.ResourceAttributes")),
                                                  2: one("nonResourceAttributes", .message("authorization.NonResourceAttributes")),
                                                  3: one("user", .string), 4: list("groups", .string), 6: one("uid", .string)],
        "authentication.TokenReview": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("authentication.TokenReviewSpec"))],
        "authentication.TokenReviewSpec": [1: one("token", .string), 2: list("audiences", .string)],
        // networking/v1 (kubectl create ingress)
        "networking.Ingress": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("networking.IngressSpec"))],
        "networking.IngressSpec": [4: one("ingressClassName", .string, pointer: true), 1: one("defaultBackend", .message("networking.IngressBackend")),
                                   2: list("tls", .message("networking.IngressTLS")), 3: list("rules", .message("networking.IngressRule"))],
        "networking.IngressBackend": [4: one("service", .message("networking.IngressServiceBackend")),
                                      3: one("resource", .message("core.TypedLocalObjectReference"))],
        "networking.IngressServiceBackend": [1: one("name", .string), 2: one("port", .message("networking.ServiceBackendPort"))],
        "networking.ServiceBackendPort": [1: one("name", .string), 2: one("number", .int32)],
        "networking.IngressTLS": [1: list("hosts", .string), 2: one("secretName", .string)],
        "networking.IngressRule": [1: one("host", .string), 2: one("ingressRuleValue", .embedded("networking.IngressRuleValue"))],
        "networking.IngressRuleValue": [1: one("http", .message("networking.HTTPIngressRuleValue"))],
        "networking.HTTPIngressRuleValue": [1: list("paths", .message("networking.HTTPIngressPath"))],
        "networking.HTTPIngressPath": [1: one("path", .string), 2: one("backend", .message("networking.IngressBackend")),
                                       3: one("pathType", .string, pointer: true)],
        "core.TypedLocalObjectReference": [1: one("apiGroup", .string, pointer: true), 2: one("kind", .string), 3: one("name", .string)],
        "core.Secret": [1: one("metadata", .message("meta.ObjectMeta")), 5: one("immutable", .bool, pointer: true),
                        2: map("data", .bytes), 4: map("stringData"), 3: one("type", .string)],
        "core.Service": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("core.ServiceSpec"))],
        "core.ServiceSpec": [1: list("ports", .message("core.ServicePort")), 2: map("selector"), 3: one("clusterIP", .string),
                             18: list("clusterIPs", .string), 4: one("type", .string), 5: list("externalIPs", .string),
                             7: one("sessionAffinity", .string), 8: one("loadBalancerIP", .string),
                             9: list("loadBalancerSourceRanges", .string), 10: one("externalName", .string),
                             11: one("externalTrafficPolicy", .string), 12: one("healthCheckNodePort", .int32),
                             13: one("publishNotReadyAddresses", .bool), 14: one("sessionAffinityConfig", .message("core.SessionAffinityConfig")),
                             19: list("ipFamilies", .string), 17: one("ipFamilyPolicy", .string, pointer: true),
                             20: one("allocateLoadBalancerNodePorts", .bool, pointer: true), 21: one("loadBalancerClass", .string, pointer: true),
                             22: one("internalTrafficPolicy", .string, pointer: true), 23: one("trafficDistribution", .string, pointer: true)],
        "core.ServicePort": [1: one("name", .string), 2: one("protocol", .string), 6: one("appProtocol", .string, pointer: true),
                             3: one("port", .int32), 4: one("targetPort", .intOrString), 5: one("nodePort", .int32)],
        "core.SessionAffinityConfig": [1: one("clientIP", .message("core.ClientIPConfig"))],
        "core.ClientIPConfig": [1: one("timeoutSeconds", .int32, pointer: true)],
        "core.Pod": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("core.PodSpec"))],
        "core.PodTemplateSpec": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("core.PodSpec"))],
        "core.PodSpec": [1: list("volumes", .message("core.Volume")), 20: list("initContainers", .message("core.Container")),
                         2: list("containers", .message("core.Container")), 3: one("restartPolicy", .string),
                         4: one("terminationGracePeriodSeconds", .int, pointer: true), 5: one("activeDeadlineSeconds", .int, pointer: true),
                         6: one("dnsPolicy", .string), 7: map("nodeSelector"), 8: one("serviceAccountName", .string),
                         9: one("serviceAccount", .string), 21: one("automountServiceAccountToken", .bool, pointer: true),
                         10: one("nodeName", .string), 11: one("hostNetwork", .bool), 15: list("imagePullSecrets", .message("core.LocalObjectReference")),
                         16: one("hostname", .string), 17: one("subdomain", .string), 19: one("schedulerName", .string),
                         22: list("tolerations", .message("core.Toleration")), 18: one("affinity", .message("core.Affinity")), 26: one("dnsConfig", .message("core.PodDNSConfig")),
                         30: one("enableServiceLinks", .bool, pointer: true), 40: one("resources", .message("core.ResourceRequirements"))],
        "core.Container": [1: one("name", .string), 2: one("image", .string), 3: list("command", .string), 4: list("args", .string),
                           5: one("workingDir", .string), 6: list("ports", .message("core.ContainerPort")), 7: list("env", .message("core.EnvVar")),
                           8: one("resources", .message("core.ResourceRequirements")), 9: list("volumeMounts", .message("core.VolumeMount")),
                           10: one("livenessProbe", .message("core.Probe")), 11: one("readinessProbe", .message("core.Probe")),
                           22: one("startupProbe", .message("core.Probe")), 13: one("terminationMessagePath", .string),
                           20: one("terminationMessagePolicy", .string), 14: one("imagePullPolicy", .string),
                           16: one("stdin", .bool), 17: one("stdinOnce", .bool), 18: one("tty", .bool),
                           12: one("lifecycle", .message("core.Lifecycle")), 24: one("restartPolicy", .string, pointer: true)],
        "core.Lifecycle": [1: one("postStart", .message("core.LifecycleHandler")), 2: one("preStop", .message("core.LifecycleHandler"))],
        "core.LifecycleHandler": [1: one("exec", .message("core.ExecAction")), 2: one("httpGet", .message("core.HTTPGetAction")),
                                  3: one("tcpSocket", .message("core.TCPSocketAction")), 4: one("sleep", .message("core.SleepAction"))],
        "core.SleepAction": [1: one("seconds", .int)],
        "core.ContainerPort": [1: one("name", .string), 2: one("hostPort", .int32), 3: one("containerPort", .int32),
                               4: one("protocol", .string), 5: one("hostIP", .string)],
        "core.EnvVar": [1: one("name", .string), 2: one("value", .string), 3: one("valueFrom", .message("core.EnvVarSource"))],
        "core.EnvVarSource": [1: one("fieldRef", .message("core.ObjectFieldSelector")), 3: one("configMapKeyRef", .message("core.KeySelector")),
                              4: one("secretKeyRef", .message("core.KeySelector"))],
        "core.ObjectFieldSelector": [1: one("apiVersion", .string), 2: one("fieldPath", .string)],
        "core.KeySelector": [1: one("localObjectReference", .embedded("core.LocalObjectReference")), 2: one("key", .string),
                             3: one("optional", .bool, pointer: true)],
        "core.LocalObjectReference": [1: one("name", .string)],
        "core.Probe": [1: one("handler", .embedded("core.ProbeHandler")), 2: one("initialDelaySeconds", .int32),
                       3: one("timeoutSeconds", .int32), 4: one("periodSeconds", .int32), 5: one("successThreshold", .int32),
                       6: one("failureThreshold", .int32), 7: one("terminationGracePeriodSeconds", .int, pointer: true)],
        "core.ProbeHandler": [1: one("exec", .message("core.ExecAction")), 2: one("httpGet", .message("core.HTTPGetAction")),
                              3: one("tcpSocket", .message("core.TCPSocketAction"))],
        "core.ExecAction": [1: list("command", .string)],
        "core.HTTPGetAction": [1: one("path", .string), 2: one("port", .intOrString), 3: one("host", .string), 4: one("scheme", .string),
                               5: list("httpHeaders", .message("core.HTTPHeader"))],
        "core.HTTPHeader": [1: one("name", .string), 2: one("value", .string)],
        "core.TCPSocketAction": [1: one("port", .intOrString), 2: one("host", .string)],
        "core.Toleration": [1: one("key", .string), 2: one("operator", .string), 3: one("value", .string), 4: one("effect", .string),
                            5: one("tolerationSeconds", .int, pointer: true)],
        "core.Affinity": [1: one("nodeAffinity", .message("core.NodeAffinity"))],
        "core.NodeAffinity": [1: one("requiredDuringSchedulingIgnoredDuringExecution", .message("core.NodeSelector")),
                              2: list("preferredDuringSchedulingIgnoredDuringExecution", .message("core.PreferredSchedulingTerm"))],
        "core.NodeSelector": [1: list("nodeSelectorTerms", .message("core.NodeSelectorTerm"))],
        "core.NodeSelectorTerm": [1: list("matchExpressions", .message("core.NodeSelectorRequirement")),
                                  2: list("matchFields", .message("core.NodeSelectorRequirement"))],
        "core.NodeSelectorRequirement": [1: one("key", .string), 2: one("operator", .string), 3: list("values", .string)],
        "core.PreferredSchedulingTerm": [1: one("weight", .int32), 2: one("preference", .message("core.NodeSelectorTerm"))],
        "core.ResourceRequirements": [1: map("limits", .quantity), 2: map("requests", .quantity)],
        "core.VolumeMount": [1: one("name", .string), 2: one("readOnly", .bool), 3: one("mountPath", .string), 4: one("subPath", .string)],
        "core.Volume": [1: one("name", .string), 2: one("volumeSource", .embedded("core.VolumeSource"))],
        "core.VolumeSource": [2: one("emptyDir", .message("core.EmptyDirVolumeSource")), 6: one("secret", .message("core.SecretVolumeSource")),
                              19: one("configMap", .message("core.ConfigMapVolumeSource"))],
        "core.EmptyDirVolumeSource": [1: one("medium", .string), 2: one("sizeLimit", .quantity)],
        "core.SecretVolumeSource": [1: one("secretName", .string), 2: list("items", .message("core.KeyToPath")),
                                    3: one("defaultMode", .int32, pointer: true), 4: one("optional", .bool, pointer: true)],
        "core.ConfigMapVolumeSource": [1: one("localObjectReference", .embedded("core.LocalObjectReference")),
                                       2: list("items", .message("core.KeyToPath")), 3: one("defaultMode", .int32, pointer: true),
                                       4: one("optional", .bool, pointer: true)],
        "core.KeyToPath": [1: one("key", .string), 2: one("path", .string), 3: one("mode", .int32, pointer: true)],
        "core.PodDNSConfig": [1: list("nameservers", .string), 2: list("searches", .string), 3: list("options", .message("core.PodDNSConfigOption"))],
        "core.PodDNSConfigOption": [1: one("name", .string), 2: one("value", .string, pointer: true)],

        // apps/v1
        "apps.Deployment": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("apps.DeploymentSpec"))],
        "apps.DeploymentSpec": [1: one("replicas", .int32, pointer: true), 2: one("selector", .message("meta.LabelSelector")),
                                3: one("template", .message("core.PodTemplateSpec")), 4: one("strategy", .message("apps.DeploymentStrategy")),
                                5: one("minReadySeconds", .int32), 6: one("revisionHistoryLimit", .int32, pointer: true),
                                7: one("paused", .bool), 9: one("progressDeadlineSeconds", .int32, pointer: true)],
        "apps.DeploymentStrategy": [1: one("type", .string), 2: one("rollingUpdate", .message("apps.RollingUpdateDeployment"))],
        "apps.RollingUpdateDeployment": [1: one("maxUnavailable", .intOrString, pointer: true), 2: one("maxSurge", .intOrString, pointer: true)],
        "apps.ReplicaSet": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("apps.ReplicaSetSpec"))],
        // batch/v1 (kubectl create job)
        "batch.Job": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("batch.JobSpec"))],
        "batch.CronJob": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("batch.CronJobSpec"))],
        "batch.CronJobSpec": [1: one("schedule", .string), 8: one("timeZone", .string, pointer: true), 2: one("startingDeadlineSeconds", .int, pointer: true),
                              3: one("concurrencyPolicy", .string), 4: one("suspend", .bool, pointer: true),
                              5: one("jobTemplate", .message("batch.JobTemplateSpec")), 6: one("successfulJobsHistoryLimit", .int32, pointer: true),
                              7: one("failedJobsHistoryLimit", .int32, pointer: true)],
        "batch.JobTemplateSpec": [1: one("metadata", .message("meta.ObjectMeta")), 2: one("spec", .message("batch.JobSpec"))],
        "batch.JobSpec": [1: one("parallelism", .int32, pointer: true), 2: one("completions", .int32, pointer: true),
                          3: one("activeDeadlineSeconds", .int, pointer: true), 7: one("backoffLimit", .int32, pointer: true),
                          4: one("selector", .message("meta.LabelSelector")), 5: one("manualSelector", .bool, pointer: true),
                          6: one("template", .message("core.PodTemplateSpec")), 8: one("ttlSecondsAfterFinished", .int32, pointer: true),
                          9: one("completionMode", .string), 10: one("suspend", .bool, pointer: true), 14: one("podReplacementPolicy", .string)],
        "apps.ReplicaSetSpec": [1: one("replicas", .int32, pointer: true), 4: one("minReadySeconds", .int32),
                                2: one("selector", .message("meta.LabelSelector")), 3: one("template", .message("core.PodTemplateSpec"))],
    ]
}
