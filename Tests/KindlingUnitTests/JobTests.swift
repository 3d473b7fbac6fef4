import Foundation
import KindlingAPI
import KindlingPrinters
@testable import KindlingServer
import KindlingStore
import Testing

/// `batch/v1` Jobs: the kind's defaults, generated selector and validation in kube-apiserver's words; the
/// controller's decisions (`JobPlan`, pure) case by case; and the controller on a real registry.
@Suite struct JobTests {
    static func job(_ json: String) throws -> Job {
        var job = try KubeJSON.decoder.decode(Job.self, from: Data(json.utf8))
        job.metadata.uid = "u1"
        job.metadata.namespace = "dev"
        job.applyDefaults()
        job.prepareForCreate()
        return job
    }

    static let template = #""template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox","command":["true"]}]}}"#

    static func pod(_ name: String, phase: String, index: Int? = nil, finishedAgo: Double? = nil, now: Date = Date()) -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: name, namespace: "dev"), spec: PodSpec(containers: [Container(name: "c", image: "busybox")]))
        if let index { pod.metadata.annotations = [Job.indexAnnotation: String(index)] }
        pod.status = PodStatus(phase: phase)
        if let finishedAgo {
            var terminated = ContainerStatus.State.Terminated(exitCode: 1, reason: "Error")
            terminated.finishedAt = Timestamp.string(now.addingTimeInterval(-finishedAgo))
            pod.status?.containerStatuses = [ContainerStatus(name: "c", image: "busybox", state: .init(terminated: terminated))]
        }
        return pod
    }

    @Test func aJobIsDefaultedAndGivenItsSelector() throws {
        let job = try Self.job(#"{"metadata":{"name":"pi"},"spec":{\#(Self.template)}}"#)
        #expect(job.spec.completions == 1 && job.spec.parallelism == 1 && job.spec.backoffLimit == 6 && job.spec.completionMode == "NonIndexed")
        #expect(job.spec.selector == LabelSelector(matchLabels: [Job.uidLabel: "u1"]))
        #expect(job.spec.template.metadata?.labels?[Job.nameLabel] == "pi" && job.spec.template.metadata?.labels?["controller-uid"] == "u1")
        #expect(job.validate().isEmpty)
        let queue = try Self.job(#"{"metadata":{"name":"q"},"spec":{"parallelism":3,\#(Self.template)}}"#)
        #expect(queue.spec.completions == nil && queue.spec.parallelism == 3, "a work queue keeps no completions")
    }

    @Test func badJobsAreRefusedInKubeAPIServersWords() throws {
        let always = try Self.job(#"{"metadata":{"name":"pi"},"spec":{"completions":-1,"completionMode":"Indexed","template":{"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}"#)
        #expect(always.validate().map(\.description) == [
            "spec.completions: Invalid value: -1: must be greater than or equal to 0",
            #"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#,
        ])
        let indexed = try Self.job(#"{"metadata":{"name":"pi"},"spec":{"parallelism":2,"completionMode":"Indexed",\#(Self.template)}}"#)
        #expect(indexed.validate().map(\.description) == ["spec.completions: Required value: when completion mode is Indexed"])
        var changed = try Self.job(#"{"metadata":{"name":"pi"},"spec":{\#(Self.template)}}"#)
        let old = changed
        changed.spec.template.spec.containers[0].image = "alpine"
        #expect(changed.validateUpdate(from: old).map(\.description) == [#"spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable"#])
    }

    @Test func thePlanRunsPodsUpToParallelismAndCompletions() throws {
        let now = Date()
        let job = try Self.job(#"{"metadata":{"name":"pi"},"spec":{"completions":3,"parallelism":2,\#(Self.template)}}"#)
        let start = JobPlan.make(job, pods: [], now: now)
        #expect(start.create == [nil, nil] && start.status.startTime != nil && start.status.active == 0)
        let middle = JobPlan.make(job, pods: [Self.pod("a", phase: "Succeeded"), Self.pod("b", phase: "Running")], now: now)
        #expect(middle.create == [nil] && middle.status.succeeded == 1 && middle.status.active == 1)
        let done = JobPlan.make(job, pods: ["a", "b", "c"].map { Self.pod($0, phase: "Succeeded") }, now: now)
        #expect(done.create.isEmpty && done.status.conditions?.map(\.type) == ["SuccessCriteriaMet", "Complete"] && done.status.completionTime != nil)
        #expect(done.events == [JobPlan.Event(reason: "Completed", message: "Job completed")])
        var finished = job
        finished.status = done.status
        #expect(JobPlan.make(finished, pods: [], now: now).create.isEmpty, "a finished Job makes nothing")
        let queue = try Self.job(#"{"metadata":{"name":"q"},"spec":{"parallelism":3,\#(Self.template)}}"#)
        #expect(JobPlan.make(queue, pods: [], now: now).create.count == 3)
        #expect(JobPlan.make(queue, pods: [Self.pod("a", phase: "Succeeded"), Self.pod("b", phase: "Running")], now: now).create.isEmpty,
                "a work queue adds nothing once one succeeded")
    }

    @Test func failuresBackOffThenFailTheJob() throws {
        let now = Date()
        let job = try Self.job(#"{"metadata":{"name":"pi"},"spec":{"backoffLimit":1,\#(Self.template)}}"#)
        #expect(JobPlan.make(job, pods: [Self.pod("a", phase: "Failed", finishedAgo: 2, now: now)], now: now).create.isEmpty, "10 s backoff")
        #expect(JobPlan.make(job, pods: [Self.pod("a", phase: "Failed", finishedAgo: 11, now: now)], now: now).create == [nil])
        let running = Self.pod("c", phase: "Running")
        let failed = JobPlan.make(job, pods: [Self.pod("a", phase: "Failed"), Self.pod("b", phase: "Failed"), running], now: now)
        #expect(failed.status.conditions?.map(\.type) == ["FailureTarget", "Failed"] && failed.status.conditions?.last?.reason == "BackoffLimitExceeded")
        #expect(failed.delete == [running] && failed.create.isEmpty)
        var late = try Self.job(#"{"metadata":{"name":"pi"},"spec":{"activeDeadlineSeconds":30,\#(Self.template)}}"#)
        late.status?.startTime = Timestamp.string(now.addingTimeInterval(-31))
        #expect(JobPlan.make(late, pods: [], now: now).status.conditions?.last?.reason == "DeadlineExceeded")
    }

    @Test func indexedJobsRunEachIndexOnce() throws {
        let now = Date()
        let job = try Self.job(#"{"metadata":{"name":"idx"},"spec":{"completions":5,"parallelism":3,"completionMode":"Indexed",\#(Self.template)}}"#)
        let plan = JobPlan.make(job, pods: [Self.pod("a", phase: "Succeeded", index: 1), Self.pod("b", phase: "Running", index: 3)], now: now)
        #expect(plan.create == [0, 2] && plan.status.completedIndexes == "1")
        #expect(JobPlan.ranges([0, 1, 2, 4, 6, 7]) == "0-2,4,6-7")
        let pod = JobPlan.pod(for: job, index: 2)
        #expect(pod.metadata.generateName == "idx-2-" && pod.spec.hostname == "idx-2" && pod.metadata.annotations?[Job.indexAnnotation] == "2")
        #expect(pod.spec.containers[0].env?.first?.valueFrom?.fieldRef?.fieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        #expect(EnvVar.subscripted("metadata.labels['app']")! == ("labels", "app") && EnvVar.subscripted("metadata.labels") == nil)
    }

    @Test func suspendedJobsRunNothingAndFinishedOnesExpire() throws {
        let now = Date()
        let suspended = try Self.job(#"{"metadata":{"name":"s"},"spec":{"suspend":true,\#(Self.template)}}"#)
        let running = Self.pod("a", phase: "Running")
        let plan = JobPlan.make(suspended, pods: [running], now: now)
        #expect(plan.delete == [running] && plan.create.isEmpty && plan.status.conditions?["Suspended"]?.status == "True")
        var finished = try Self.job(#"{"metadata":{"name":"t"},"spec":{"ttlSecondsAfterFinished":0,\#(Self.template)}}"#)
        finished.status = JobPlan.make(finished, pods: [Self.pod("a", phase: "Succeeded")], now: now).status
        #expect(JobPlan.make(finished, pods: [], now: now).expired)
        let printed = JobPrinter().cells(finished, PrintContext(now: now.timeIntervalSince1970, parseTime: { Timestamp.date($0)?.timeIntervalSince1970 }))
        #expect(Array(printed.prefix(3)) == ["t", "Complete", "1/1"])
    }

    /// The controller on a registry: pods made, their success (written as a kubelet writes it) counted, done.
    @Test func theControllerRunsAJobToCompletion() async throws {
        let registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        let handler = APIHandler(registry: registry)
        let body = #"{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi"},"spec":{"completions":2,\#(Self.template)}}"#
        let created = await handler.handle(APIRequest(method: "POST", path: "/apis/batch/v1/namespaces/dev/jobs", body: Data(body.utf8), contentType: "application/json"))
        guard case .json(201, _, _, _) = created else { Issue.record("\(created)"); return }
        let controller = JobController()
        for round in 0..<2 {
            try controller.sync(try registry.get(Job.self, namespace: "dev", name: "pi"), pods: try registry.list(Pod.self, namespace: "dev").items, registry)
            let pending = try registry.list(Pod.self, namespace: "dev").items.filter { $0.status?.phase != "Succeeded" }
            #expect(pending.count == 1, "round \(round): one pod at a time")
            for pod in pending {
                var done = pod
                done.status = PodStatus(phase: "Succeeded")
                _ = try registry.update(done, as: Pod.strategy, namespace: "dev", name: pod.name, scope: .status)
            }
        }
        try controller.sync(try registry.get(Job.self, namespace: "dev", name: "pi"), pods: try registry.list(Pod.self, namespace: "dev").items, registry)
        let job = try registry.get(Job.self, namespace: "dev", name: "pi")
        #expect(job.has("Complete") && job.status?.succeeded == 2)
        #expect(try registry.list(Pod.self, namespace: "dev").items.allSatisfy { $0.metadata.labels?[Job.nameLabel] == "pi" })
    }
}
