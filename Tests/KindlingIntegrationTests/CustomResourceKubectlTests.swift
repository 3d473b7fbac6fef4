import Foundation
import KindlingAPI
import Testing

/// CustomResourceDefinitions with real kubectl: applied, established, their objects applied, listed with
/// their printer columns, scaled, read at two versions, refused by their schema and by a CEL validation
/// rule, and deleted with the
/// definition, which waits for their finalizers and meanwhile takes no new objects.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct CustomResourceKubectlTests {
    let kubectlTests = KubectlTests()
    var cli: CLITests { kubectlTests.cli }

    static let crd = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: crontabs.stable.example.com}
        spec:
          group: stable.example.com
          scope: Namespaced
          names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
          versions:
          - name: v1beta1
            served: true
            storage: false
            schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
          - name: v1
            served: true
            storage: true
            subresources:
              status: {}
              scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
            additionalPrinterColumns:
            - {name: Schedule, type: string, jsonPath: .spec.cronSpec}
            - {name: Replicas, type: integer, jsonPath: .spec.replicas}
            - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    x-kubernetes-validations:
                    - {rule: "!has(self.replicas) || self.replicas != 7", message: seven replicas are unlucky}
                    properties:
                      cronSpec: {type: string, description: "When the job runs, in cron's syntax."}
                      replicas: {type: integer, maximum: 10}
                  status: {type: object, x-kubernetes-preserve-unknown-fields: true}
        """

    static let crontab = """
        apiVersion: stable.example.com/v1
        kind: CronTab
        metadata: {name: nightly, namespace: default}
        spec: {cronSpec: "0 3 * * *", replicas: 2}
        """

    @Test func definitionsAndTheirObjectsWithKubectl() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("crd", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            let defined = try kubectl(["apply", "-f", "-"], input: Self.crd)
            #expect(defined.status == 0 && defined.output == "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created\n", "\(defined.output)")
            let established = try kubectl(["wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=20s"])
            #expect(established.status == 0, "\(established.output)")
            var applied = try kubectl(["apply", "-f", "-"], input: Self.crontab)
            // kubectl's discovery cache may predate the kind for a moment.
            for _ in 0..<20 where applied.status != 0 {
                Thread.sleep(forTimeInterval: 0.5)
                applied = try kubectl(["apply", "-f", "-"], input: Self.crontab)
            }
            #expect(applied.status == 0 && applied.output == "crontab.stable.example.com/nightly created\n", "\(applied.output)")
            let listed = kubectlTests.columns(try kubectl(["get", "ct"]).output)
            #expect(listed.first == ["NAME", "SCHEDULE", "REPLICAS", "AGE"] && listed.last?.prefix(5) == ["nightly", "0", "3", "*", "*"], "\(listed)")
            // kindling's own CLI finds the kind through discovery and prints the server's Table.
            let viaCLI = kubectlTests.columns(try cli.kindling(["get", "ct", "--name", name]).output)
            #expect(viaCLI.first == ["NAME", "SCHEDULE", "REPLICAS", "AGE"] && viaCLI.last?.prefix(5) == ["nightly", "0", "3", "*", "*"], "\(viaCLI)")
            #expect(try cli.kindling(["get", "crontabs.stable.example.com", "-A", "-o", "name", "--name", name]).output
                    == "crontab.stable.example.com/nightly\n")
            let object = try kubectl(["get", "crontab", "nightly", "-o", "jsonpath={.spec.replicas}"]).output
            #expect(object == "2")
            let scaled = try kubectl(["scale", "crontab", "nightly", "--replicas=4"])
            #expect(scaled.status == 0 && scaled.output == "crontab.stable.example.com/nightly scaled\n", "\(scaled.output)")
            #expect(try kubectl(["get", "crontab", "nightly", "-o", "jsonpath={.spec.replicas}"]).output == "4")
            let older = try kubectl(["get", "crontabs.v1beta1.stable.example.com", "nightly", "-o", "jsonpath={.apiVersion} {.spec.replicas}"])
            #expect(older.output == "stable.example.com/v1beta1 4", "one object, read at either version: \(older.output)")
            let explained = try kubectl(["explain", "crontabs.spec"])
            #expect(explained.status == 0 && explained.output.contains("FIELD: spec <Object>")
                    && explained.output.contains("cronSpec\t<string>\n    When the job runs, in cron's syntax."), "\(explained.output)")
            let explainedMeta = try kubectl(["explain", "crontab.metadata.name"])
            #expect(explainedMeta.status == 0 && explainedMeta.output.contains("FIELD: name <string>"), "\(explainedMeta.output)")
            let refused = try kubectl(["apply", "-f", "-"], input: Self.crontab.replacingOccurrences(of: "replicas: 2", with: "replicas: 11"))
            #expect(refused.status != 0 && refused.output.contains("spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
                    "\(refused.output)")
            let unlucky = try kubectl(["apply", "-f", "-"], input: Self.crontab.replacingOccurrences(of: "replicas: 2", with: "replicas: 7"))
            #expect(unlucky.status != 0 && unlucky.output.contains(#"spec: Invalid value: "object": seven replicas are unlucky"#), "\(unlucky.output)")
            let crds = kubectlTests.columns(try kubectl(["get", "crds"]).output)
            #expect(crds.first == ["NAME", "CREATED", "AT"] && crds.last?.first == "crontabs.stable.example.com", "\(crds)")
            // An object's finalizer holds the definition's deletion; meanwhile nothing new is created.
            let held = try kubectl(["patch", "ct", "nightly", "--type=merge", "-p", #"{"metadata":{"finalizers":["example.com/hold"]}}"#])
            #expect(held.status == 0, "\(held.output)")
            let deleting = try kubectl(["delete", "crd", "crontabs.stable.example.com", "--wait=false"])
            #expect(deleting.status == 0, "\(deleting.output)")
            var late = try kubectl(["apply", "-f", "-"], input: Self.crontab.replacingOccurrences(of: "name: nightly", with: "name: late"))
            for _ in 0..<20 where !late.output.contains("terminating") {
                Thread.sleep(forTimeInterval: 0.3)
                late = try kubectl(["apply", "-f", "-"], input: Self.crontab.replacingOccurrences(of: "name: nightly", with: "name: late"))
            }
            #expect(late.status != 0 && late.output.contains("create not allowed while custom resource definition is terminating"), "\(late.output)")
            let released = try kubectl(["patch", "ct", "nightly", "--type=merge", "-p", #"{"metadata":{"finalizers":null}}"#])
            #expect(released.status == 0, "\(released.output)")
            let deleted = try kubectl(["wait", "--for=delete", "crd/crontabs.stable.example.com", "--timeout=30s"])
            #expect(deleted.status == 0, "\(deleted.output)")
            let gone = try kubectl(["get", "crontabs"])
            #expect(gone.status != 0, "\(gone.output)")
        }
    }

    /// A small operator written with the official Python client: it watches CronTabs and writes each one's status
    /// (through the status subresource) from its spec, as controllers built on client libraries do.
    static let operatorScript = """
        import sys, time
        from kubernetes import client, config, watch
        config.load_kube_config(context=sys.argv[1])
        api = client.CustomObjectsApi()
        args = ("stable.example.com", "v1", "default", "crontabs")
        deadline = time.time() + 60
        while time.time() < deadline:
            for event in watch.Watch().stream(api.list_namespaced_custom_object, *args, timeout_seconds=5):
                crontab = event["object"]
                if event["type"] == "DELETED":
                    continue
                wanted = {"phase": "Scheduled", "replicas": crontab["spec"].get("replicas", 1)}
                if crontab.get("status") != wanted:
                    api.patch_namespaced_custom_object_status(*args, crontab["metadata"]["name"], {"status": wanted})
                    print("reconciled", crontab["metadata"]["name"], wanted["replicas"], flush=True)
        """

    @Test func anOperatorWrittenWithThePythonClient() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("operator", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            #expect(try kubectl(["apply", "-f", "-"], input: Self.crd).status == 0)
            #expect(try kubectl(["wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=20s"]).status == 0)
            let operatorProcess = Process()
            operatorProcess.executableURL = URL(fileURLWithPath: "\(KubectlTests.venv)/python")
            operatorProcess.arguments = ["-c", Self.operatorScript, Kubeconfig.contextName(cluster: name)]
            operatorProcess.environment = testEnvironment
            let output = Pipe()
            operatorProcess.standardOutput = output
            operatorProcess.standardError = output
            try operatorProcess.run()
            // SIGKILL: the test process may hand its children SIGTERM ignored.
            defer {
                if operatorProcess.isRunning { kill(operatorProcess.processIdentifier, SIGKILL) }
                operatorProcess.waitUntilExit()
            }
            var applied = try kubectl(["apply", "-f", "-"], input: Self.crontab)
            for _ in 0..<20 where applied.status != 0 {
                Thread.sleep(forTimeInterval: 0.5)
                applied = try kubectl(["apply", "-f", "-"], input: Self.crontab)
            }
            #expect(applied.status == 0, "\(applied.output)")
            func status() -> String { (try? kubectl(["get", "ct", "nightly", "-o", "jsonpath={.status.phase}/{.status.replicas}"]))?.output ?? "" }
            #expect(eventually(30) { status() == "Scheduled/2" }, "\(status())")
            #expect(try kubectl(["patch", "ct", "nightly", "--type=merge", "-p", #"{"spec":{"replicas":5}}"#]).status == 0)
            #expect(eventually(30) { status() == "Scheduled/5" }, "the operator follows the spec: \(status())")
            // A write to the object keeps the status: the status subresource is the only way to it.
            #expect(try kubectl(["patch", "ct", "nightly", "--type=merge", "-p", #"{"status":{"phase":"Hijacked"}}"#]).status == 0)
            #expect(status() == "Scheduled/5")
            kill(operatorProcess.processIdentifier, SIGKILL)
            operatorProcess.waitUntilExit()
            let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(log.contains("reconciled nightly 2") && log.contains("reconciled nightly 5"), "\(log)")
        }
    }
}
