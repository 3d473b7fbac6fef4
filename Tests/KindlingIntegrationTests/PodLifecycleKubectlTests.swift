import Foundation
import KindlingAPI
import Testing

/// kubelet's pod lifecycle with real kubectl: init containers in order and a sidecar beside the app (`Init:0/1`
/// while one runs, `Init:Error` when one fails), a postStart hook, a liveness probe restarting its container
/// (`logs --previous` shows the instance before), and an image that cannot be pulled backing off.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct PodLifecycleKubectlTests {
    let kubectlTests = KubectlTests()
    var cli: CLITests { kubectlTests.cli }

    static let pods = """
        apiVersion: v1
        kind: Pod
        metadata: {name: init-demo}
        spec:
          initContainers:
          - {name: fetch, image: busybox, command: [sh, -c, 'echo fetched > /var/work/page; echo fetch done'], volumeMounts: [{name: work, mountPath: /var/work}]}
          - name: logger
            image: busybox
            restartPolicy: Always
            command: [sh, -c, 'echo sidecar up; exec sleep 3600']
          containers:
          - name: app
            image: busybox
            command: [sh, -c, 'cat /var/work/page; sleep 2; cat /var/work/hook; exec sleep 3600']
            volumeMounts: [{name: work, mountPath: /var/work}]
            lifecycle:
              postStart: {exec: {command: [sh, -c, 'echo hooked > /var/work/hook']}}
          volumes: [{name: work, emptyDir: {}}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: stuck-init}
        spec:
          initContainers: [{name: hold, image: busybox, command: [sleep, '3600']}]
          containers: [{name: app, image: busybox, command: [sleep, '3600']}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: failed-init}
        spec:
          restartPolicy: Never
          initContainers: [{name: check, image: busybox, command: [sh, -c, 'exit 4']}]
          containers: [{name: app, image: busybox, command: [sleep, '3600']}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: liveness-exec}
        spec:
          terminationGracePeriodSeconds: 2
          containers:
          - name: liveness
            image: busybox
            command: [sh, -c, 'echo run; touch /var/probe/healthy; sleep 2; rm -f /var/probe/healthy; sleep 600']
            volumeMounts: [{name: probe, mountPath: /var/probe}]
            livenessProbe:
              exec: {command: [cat, /var/probe/healthy]}
              initialDelaySeconds: 1
              periodSeconds: 1
              failureThreshold: 1
          volumes: [{name: probe, emptyDir: {}}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: no-such-image}
        spec:
          containers: [{name: app, image: registry.invalid/nope:1}]
        """

    @Test func initContainersSidecarsProbesAndPullsAsKubeletRunsThem() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("lifecycle", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            func row(_ pod: String) -> [String] { kubectlTests.columns((try? kubectl(["get", "pod", pod]))?.output ?? "").last ?? [] }
            let applied = try kubectl(["apply", "-f", "-"], input: Self.pods)
            #expect(applied.status == 0, "\(applied.output)")

            let ready = try kubectl(["wait", "--for=condition=Ready", "pod/init-demo", "--timeout=60s"])
            let yaml = ready.status == 0 ? "" : try kubectl(["get", "pod", "init-demo", "-o", "yaml"]).output
            #expect(ready.status == 0, "\(ready.output) \(yaml)")
            #expect(row("init-demo").prefix(3) == ["init-demo", "2/2", "Running"], "the sidecar counts: \(row("init-demo"))")
            #expect(try kubectl(["logs", "init-demo", "-c", "fetch"]).output == "fetch done\n")
            #expect(try kubectl(["logs", "init-demo", "-c", "logger"]).output == "sidecar up\n")
            var appLog = ""
            #expect(try eventually(10) {
                appLog = try kubectl(["logs", "init-demo", "-c", "app"]).output
                return appLog == "fetched\nhooked\n"
            }, "the init container's file, then the postStart hook's: \(appLog)")
            let noPrevious = try kubectl(["logs", "init-demo", "-c", "app", "--previous"])
            #expect(noPrevious.status != 0 && noPrevious.output.contains("previous terminated container \"app\" in pod \"init-demo\" not found"),
                    "\(noPrevious.output)")

            #expect(eventually(20) { row("stuck-init").prefix(3) == ["stuck-init", "0/1", "Init:0/1"] }, "\(row("stuck-init"))")
            #expect(eventually(20) { row("failed-init").prefix(3) == ["failed-init", "0/1", "Init:Error"] }, "\(row("failed-init"))")
            #expect(try kubectl(["get", "pod", "failed-init", "-o", "jsonpath={.status.phase}"]).output == "Failed")

            #expect(try eventually(30) {
                try kubectl(["get", "pod", "liveness-exec", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"]).output.first.map { $0 != "0" } == true
            }, "a failed liveness probe restarts the container")
            #expect(try kubectl(["logs", "liveness-exec", "--previous"]).output == "run\n")
            let events = try kubectl(["get", "events", "--field-selector", "involvedObject.name=liveness-exec", "-o", "jsonpath={.items[*].message}"]).output
            #expect(events.contains("Liveness probe failed: cat: /var/probe/healthy: No such file or directory"), "\(events)")
            #expect(events.contains("Container liveness failed liveness probe, will be restarted"), "\(events)")

            #expect(eventually(30) { row("no-such-image").prefix(3) == ["no-such-image", "0/1", "ImagePullBackOff"] }, "\(row("no-such-image"))")
        }
    }

    /// `kubectl debug` adds an ephemeral container to a running pod (the ephemeralcontainers subresource, a
    /// strategic merge patch): it runs once in the pod, with the pod's hostname and network.
    @Test func kubectlDebugAddsEphemeralContainers() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("debug", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            #expect(try kubectl(["run", "app", "--image=busybox", "--", "sleep", "3600"]).status == 0)
            #expect(try kubectl(["wait", "--for=condition=Ready", "pod/app", "--timeout=60s"]).status == 0)
            let debugged = try kubectl(["debug", "app", "--image=busybox", "-c", "dbg", "--target=app", "--", "sh", "-c", "echo from the debug container; hostname"])
            #expect(debugged.status == 0, "\(debugged.output)")
            var log = ""
            #expect(try eventually(20) {
                log = try kubectl(["logs", "app", "-c", "dbg"]).output
                return log == "from the debug container\napp\n"
            }, "\(log)")
            #expect(try eventually(10) {
                try kubectl(["get", "pod", "app", "-o", "jsonpath={.status.ephemeralContainerStatuses[0].state.terminated.reason}"]).output == "Completed"
            })
            #expect(try kubectl(["debug", "app", "--image=busybox", "-c", "second", "--", "true"]).status == 0, "a second one is added beside")
            #expect(try kubectl(["get", "pod", "app", "-o", "jsonpath={.spec.ephemeralContainers[*].name}"]).output == "dbg second")
            #expect(try kubectl(["get", "pod", "app", "-o", "jsonpath={.status.phase}"]).output == "Running", "the pod runs on")
        }
    }
}
