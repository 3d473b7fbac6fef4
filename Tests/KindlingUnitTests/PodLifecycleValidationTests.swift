import Foundation
import KindlingAPI
import Testing

/// Init containers, sidecars, probes and lifecycle hooks refused as kube-apiserver refuses them, in its words.
@Suite struct PodLifecycleValidationTests {
    static func errors(_ spec: String) throws -> [String] {
        var pod = Pod(metadata: ObjectMeta(name: "p", namespace: "default"), spec: try KubeJSON.decoder.decode(PodSpec.self, from: Data(spec.utf8)))
        pod.applyDefaults()
        return pod.validate().map(\.description)
    }

    @Test(arguments: [
        (#"{"initContainers": [{"name": "a", "image": "busybox"}], "containers": [{"name": "a", "image": "nginx"}]}"#,
         #"spec.containers[0].name: Duplicate value: "a""#),
        (#"{"initContainers": [{"name": "i", "image": "busybox", "livenessProbe": {"exec": {"command": ["true"]}}}], "containers": [{"name": "a", "image": "nginx"}]}"#,
         "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"),
        (#"{"initContainers": [{"name": "i", "image": "busybox", "restartPolicy": "OnFailure"}], "containers": [{"name": "a", "image": "nginx"}]}"#,
         #"spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always""#),
        (#"{"containers": [{"name": "a", "image": "nginx", "restartPolicy": "Always"}]}"#,
         "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"),
        (#"{"containers": [{"name": "a", "image": "nginx", "livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}}]}"#,
         "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"),
        (#"{"containers": [{"name": "a", "image": "nginx", "startupProbe": {}}]}"#,
         "spec.containers[0].startupProbe: Required value: must specify a handler type"),
        (#"{"containers": [{"name": "a", "image": "nginx", "lifecycle": {"preStop": {"exec": {"command": ["x"]}, "sleep": {"seconds": 1}}}}]}"#,
         "spec.containers[0].lifecycle.preStop: Forbidden: may not specify more than 1 handler type"),
        (#"{"initContainers": [{"name": "i", "image": "busybox", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}], "containers": [{"name": "a", "image": "nginx"}]}"#,
         #"spec.initContainers[0].volumeMounts[0].name: Not found: "nope""#),
    ])
    func badSpecsAreRefusedInKubernetesWords(spec: String, error: String) throws {
        #expect(try Self.errors(spec) == [error])
    }

    @Test func sidecarsMayHaveProbesAndHooks() throws {
        #expect(try Self.errors(#"""
            {"initContainers": [{"name": "proxy", "image": "busybox", "restartPolicy": "Always",
                                 "startupProbe": {"exec": {"command": ["true"]}}, "readinessProbe": {"exec": {"command": ["true"]}},
                                 "lifecycle": {"preStop": {"sleep": {"seconds": 1}}}}],
             "containers": [{"name": "a", "image": "nginx", "lifecycle": {"postStart": {"httpGet": {"port": 80}}}}]}
            """#).isEmpty)
    }
}

/// Ephemeral containers as kube-apiserver takes them: through their subresource only, added never changed or
/// removed, without what only a regular container may have.
@Suite struct EphemeralContainerValidationTests {
    static func pod(_ ephemeral: String) throws -> Pod {
        var pod = try KubeJSON.decoder.decode(Pod.self, from: Data(#"{"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "app", "image": "nginx"}], "ephemeralContainers": \#(ephemeral)}}"#.utf8))
        pod.applyDefaults()
        return pod
    }

    @Test func addedNeverChangedOrRemoved() throws {
        let none = try Self.pod("[]")
        let one = try Self.pod(#"[{"name": "dbg", "image": "busybox", "targetContainerName": "app"}]"#)
        #expect(one.validateUpdate(from: none).isEmpty)
        #expect(none.validateUpdate(from: one).map(\.description) == [#"spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be removed"#])
        let changed = try Self.pod(#"[{"name": "dbg", "image": "alpine", "targetContainerName": "app"}]"#)
        #expect(changed.validateUpdate(from: one).map(\.description) == [#"spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed"#])
        let bad = try Self.pod(#"[{"name": "app", "image": "busybox", "ports": [{"containerPort": 80}], "targetContainerName": "nope"}]"#)
        #expect(bad.validateUpdate(from: none).map(\.description) == [#"spec.ephemeralContainers[0].name: Duplicate value: "app""#,
                                                                      "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
                                                                      #"spec.ephemeralContainers[0].targetContainerName: Not found: "nope""#])
        #expect(one.validate().map(\.description) == ["spec.ephemeralContainers: Forbidden: cannot be set on create"])
    }
}
