import Foundation
import KindlingAPI
import Testing

/// The workloads beyond Deployments with real kubectl: Jobs created by `kubectl create job` and by manifests,
/// waited for with `kubectl wait`, Indexed ones seeing their index, failing ones failing, finished ones expiring.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct WorkloadKubectlTests {
    let kubectlTests = KubectlTests()
    var cli: CLITests { kubectlTests.cli }

    static let jobs = """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: indexed}
        spec:
          completions: 3
          parallelism: 3
          completionMode: Indexed
          template:
            spec:
              restartPolicy: Never
              containers:
              - {name: worker, image: busybox, command: [sh, -c, 'echo index $JOB_COMPLETION_INDEX']}
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: broken}
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
              - {name: worker, image: busybox, command: [sh, -c, 'exit 3']}
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: brief}
        spec:
          ttlSecondsAfterFinished: 0
          template:
            spec:
              restartPolicy: OnFailure
              containers:
              - {name: worker, image: busybox, command: ['true']}
        """

    @Test func jobsRunToCompletionWithKubectl() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("jobs", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            let created = try kubectl(["create", "job", "hello", "--image=busybox", "--", "sh", "-c", "echo hello from a job"])
            #expect(created.status == 0 && created.output == "job.batch/hello created\n", "\(created.output)")
            let waited = try kubectl(["wait", "--for=condition=complete", "job/hello", "--timeout=60s"])
            let described = waited.status == 0 ? "" : try kubectl(["describe", "job", "hello"]).output
            #expect(waited.status == 0, "\(waited.output) \(described)")
            let listed = kubectlTests.columns(try kubectl(["get", "jobs"]).output)
            #expect(listed.first == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"] && listed.last?.prefix(3) == ["hello", "Complete", "1/1"], "\(listed)")
            #expect(try kubectl(["logs", "job/hello"]).output == "hello from a job\n")

            #expect(try kubectl(["apply", "-f", "-"], input: Self.jobs).status == 0)
            let indexed = try kubectl(["wait", "--for=condition=complete", "job/indexed", "--timeout=60s"])
            #expect(indexed.status == 0, "\(indexed.output)")
            let pods = try kubectl(["get", "pods", "-l", "batch.kubernetes.io/job-name=indexed", "-o", "jsonpath={.items[*].metadata.name}"]).output
            let lines = try pods.split(separator: " ").map { try kubectl(["logs", String($0)]).output }
            let details = Set(lines) == ["index 0\n", "index 1\n", "index 2\n"] ? "" : try kubectl(["get", "pods", "-o", "yaml"]).output
            #expect(Set(lines) == ["index 0\n", "index 1\n", "index 2\n"], "\(lines) \(details)")
            #expect(try kubectl(["get", "job", "indexed", "-o", "jsonpath={.status.completedIndexes}"]).output == "0-2")

            let failed = try kubectl(["wait", "--for=condition=failed", "job/broken", "--timeout=60s"])
            #expect(failed.status == 0, "\(failed.output)")
            #expect(try kubectl(["get", "job", "broken", "-o", "jsonpath={.status.conditions[?(@.type==\"Failed\")].reason}"]).output == "BackoffLimitExceeded")
            #expect(eventually(60) { (try? kubectl(["get", "job", "brief"]))?.output.contains("NotFound") == true },
                    "a finished Job with ttlSecondsAfterFinished 0 is deleted")
        }
    }

    /// A CronJob made by `kubectl create cronjob` firing at the next minute, and a Job made from it by hand.
    @Test func cronJobsFireOnTheirScheduleWithKubectl() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("cron", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            let created = try kubectl(["create", "cronjob", "tick", "--image=busybox", "--schedule=* * * * *", "--", "sh", "-c", "echo tick"])
            #expect(created.status == 0 && created.output == "cronjob.batch/tick created\n", "\(created.output)")
            let listed = kubectlTests.columns(try kubectl(["get", "cronjobs"]).output)
            #expect(listed.first == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"], "\(listed)")
            let manual = try kubectl(["create", "job", "by-hand", "--from=cronjob/tick"])
            #expect(manual.status == 0 && manual.output == "job.batch/by-hand created\n", "\(manual.output)")
            #expect(try kubectl(["wait", "--for=condition=complete", "job/by-hand", "--timeout=60s"]).status == 0)
            #expect(try kubectl(["logs", "job/by-hand"]).output == "tick\n")
            // The next minute's Job, made by the controller and run to completion.
            var scheduled = ""
            #expect(eventually(75) {
                scheduled = ((try? kubectl(["get", "jobs", "-o", "name"]))?.output ?? "").split(separator: "\n").first { $0.hasPrefix("job.batch/tick-") }
                    .map(String.init) ?? ""
                return !scheduled.isEmpty
            }, "no scheduled Job within 75 s")
            if !scheduled.isEmpty {
                #expect(try kubectl(["wait", "--for=condition=complete", scheduled, "--timeout=60s"]).status == 0)
                #expect(!(try kubectl(["get", "cronjob", "tick", "-o", "jsonpath={.status.lastScheduleTime}"]).output.isEmpty))
            }
        }
    }

    static let daemonSets = """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: agent}
        spec:
          selector: {matchLabels: {app: agent}}
          template:
            metadata: {labels: {app: agent}}
            spec:
              containers: [{name: agent, image: busybox, command: [sleep, '3600']}]
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: everywhere}
        spec:
          selector: {matchLabels: {app: everywhere}}
          template:
            metadata: {labels: {app: everywhere}}
            spec:
              tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
              containers: [{name: agent, image: busybox, command: [sleep, '3600']}]
        """

    /// DaemonSets on a control plane and two workers: the control plane's taint keeps one off it and lets the other,
    /// which tolerates it, on; `rollout status`, and `set image` rolled out node by node.
    @Test func daemonSetsRunOnTheNodesTheyAreMeantFor() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("daemons") { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            let taints = try kubectl(["get", "node", "\(name)-control-plane", "-o", "jsonpath={.spec.taints}"]).output
            #expect(taints == #"[{"effect":"NoSchedule","key":"node-role.kubernetes.io/control-plane"}]"#, "as kind taints it: \(taints)")
            #expect(try kubectl(["apply", "-f", "-"], input: Self.daemonSets).status == 0)
            for set in ["agent", "everywhere"] {
                let rolled = try kubectl(["rollout", "status", "ds/\(set)", "--timeout=60s"])
                #expect(rolled.status == 0 && rolled.output.contains("daemon set \"\(set)\" successfully rolled out"), "\(rolled.output)")
            }
            func nodes(_ app: String) throws -> [String] {
                try kubectl(["get", "pods", "-l", "app=\(app)", "-o", "jsonpath={.items[*].spec.nodeName}"]).output.split(separator: " ").map(String.init).sorted()
            }
            #expect(try nodes("agent") == ["\(name)-worker", "\(name)-worker2"])
            #expect(try nodes("everywhere") == ["\(name)-control-plane", "\(name)-worker", "\(name)-worker2"])
            let listed = kubectlTests.columns(try kubectl(["get", "ds"]).output)
            #expect(listed.first == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE"], "\(listed)")
            #expect(listed.dropFirst().map { Array($0.prefix(7)) } == [["agent", "2", "2", "2", "2", "2", "<none>"],
                                                                       ["everywhere", "3", "3", "3", "3", "3", "<none>"]], "\(listed)")

            let before = try kubectl(["get", "pods", "-l", "app=everywhere", "-o", "jsonpath={.items[*].metadata.name}"]).output
            #expect(try kubectl(["set", "image", "ds/everywhere", "agent=busybox:1.36"]).status == 0)
            let rolled = try kubectl(["rollout", "status", "ds/everywhere", "--timeout=90s"])
            #expect(rolled.status == 0, "\(rolled.output)")
            let images = try kubectl(["get", "pods", "-l", "app=everywhere", "-o", "jsonpath={.items[*].spec.containers[0].image}"]).output
            #expect(images == "busybox:1.36 busybox:1.36 busybox:1.36", "\(images)")
            let after = try kubectl(["get", "pods", "-l", "app=everywhere", "-o", "jsonpath={.items[*].metadata.name}"]).output
            #expect(Set(after.split(separator: " ")).isDisjoint(with: before.split(separator: " ")), "every pod replaced: \(before) -> \(after)")
        }
    }

    static let drained = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 1
              containers: [{name: web, image: busybox, command: [sleep, '3600']}]
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: web}
        spec:
          minAvailable: 1
          selector: {matchLabels: {app: web}}
        """

    /// `kubectl drain` of a worker (cordon, then the Eviction subresource as kubectl sends it, protobuf) with a
    /// DaemonSet and a PodDisruptionBudget: the first drain goes through, the second is held by the budget
    /// (kube-apiserver's 429, which kubectl retries until its timeout), and the Python client's JSON eviction too.
    @Test func drainEvictsWithinTheDisruptionBudget() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("drain") { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            #expect(try kubectl(["apply", "-f", "-"], input: Self.drained + "\n---\n" + Self.daemonSets).status == 0)
            #expect(try kubectl(["rollout", "status", "deploy/web", "--timeout=60s"]).status == 0)
            #expect(try kubectl(["rollout", "status", "ds/agent", "--timeout=60s"]).status == 0)
            var budget: [[String]] = []
            #expect(eventually(10) {
                budget = kubectlTests.columns((try? kubectl(["get", "pdb"]))?.output ?? "")
                return budget.last == ["web", "1", "N/A", "1"] + [budget.last?.last ?? ""]
            }, "\(budget)")

            let worker = "\(name)-worker", worker2 = "\(name)-worker2"
            let refused = try kubectl(["drain", worker, "--timeout=20s"])
            #expect(refused.status != 0 && refused.output.contains("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"), "\(refused.output)")
            let first = try kubectl(["drain", worker, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s"])
            #expect(first.status == 0 && first.output.contains("node/\(worker) drained"), "\(first.output)")
            #expect(kubectlTests.columns(try kubectl(["get", "node", worker]).output).last?[1] == "Ready,SchedulingDisabled")
            #expect(try eventually(30) {
                try kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}"]).output == "\(worker2) \(worker2)"
                    && kubectl(["get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}"]).output == "1"
            }, "both web pods on the other worker, the budget back to one")

            // Nowhere left for a replacement: the budget holds the second pod, and kubectl gives up at its timeout.
            let held = try kubectl(["drain", worker2, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=8s"])
            #expect(held.status != 0 && held.output.contains("Cannot evict pod as it would violate the pod's disruption budget."), "\(held.output)")
            let remaining = try kubectl(["get", "pods", "-l", "app=web", "--field-selector", "spec.nodeName=\(worker2)", "-o", "jsonpath={.items[0].metadata.name}"]).output
            let python = try sh(["\(KubectlTests.venv)/python", "-c", """
                from kubernetes import client, config
                from kubernetes.client.rest import ApiException
                config.load_kube_config(context="\(Kubeconfig.contextName(cluster: name))")
                try:
                    client.CoreV1Api().create_namespaced_pod_eviction("\(remaining)", "default",
                        client.V1Eviction(metadata=client.V1ObjectMeta(name="\(remaining)", namespace="default")))
                    print("evicted")
                except ApiException as e:
                    print(e.status, e.reason)
                """])
            #expect(python.output == "429 Too Many Requests\n", "\(python.output)")
            #expect(try kubectl(["uncordon", worker]).output == "node/\(worker) uncordoned\n")
            #expect(try kubectl(["rollout", "status", "deploy/web", "--timeout=60s"]).status == 0, "the pending replacement runs on the uncordoned worker")
        }
    }

    /// A Deployment's rollouts with kubectl: `rollout pause` holding a `set image` back, `resume` rolling it out,
    /// `kubernetes.io/change-cause` in `rollout history`, and a rollout stuck past `progressDeadlineSeconds` failing
    /// `rollout status`.
    @Test func deploymentsPauseRecordTheirCauseAndTimeOut() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("rollouts", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            #expect(try kubectl(["create", "deployment", "web", "--image=busybox", "--replicas=2", "--", "sleep", "3600"]).status == 0)
            #expect(try kubectl(["annotate", "deploy/web", "kubernetes.io/change-cause=first"]).status == 0)
            #expect(try kubectl(["rollout", "status", "deploy/web", "--timeout=60s"]).status == 0)
            #expect(try kubectl(["rollout", "pause", "deploy/web"]).output == "deployment.apps/web paused\n")
            #expect(try kubectl(["set", "image", "deploy/web", "busybox=busybox:1.36"]).status == 0)
            #expect(try kubectl(["annotate", "deploy/web", "kubernetes.io/change-cause=to 1.36", "--overwrite"]).status == 0)
            Thread.sleep(forTimeInterval: 2)
            #expect(try kubectl(["get", "rs", "-o", "name"]).output.split(separator: "\n").count == 1, "paused: no new ReplicaSet")
            #expect(try kubectl(["get", "deploy", "web", "-o", "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}"]).output == "DeploymentPaused")
            #expect(try kubectl(["rollout", "resume", "deploy/web"]).output == "deployment.apps/web resumed\n")
            #expect(try kubectl(["rollout", "status", "deploy/web", "--timeout=60s"]).status == 0)
            let history = kubectlTests.columns(try kubectl(["rollout", "history", "deploy/web"]).output)
            #expect(history.suffix(2) == [["1", "first"], ["2", "to", "1.36"]], "\(history)")

            let stuck = #"{"spec":{"progressDeadlineSeconds":2,"template":{"spec":{"containers":[{"name":"busybox","image":"registry.invalid/nope:1"}]}}}}"#
            #expect(try kubectl(["patch", "deploy/web", "-p", stuck]).status == 0)
            let status = try kubectl(["rollout", "status", "deploy/web", "--timeout=40s"])
            #expect(status.status != 0 && status.output.contains("error: deployment \"web\" exceeded its progress deadline"), "\(status.output)")
        }
    }
}
