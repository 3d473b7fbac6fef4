import Foundation
import KindlingAPI
@testable import KindlingServer
import Testing

/// CronJobs: cron schedules as the controller reads them, validation in kube-apiserver's words, and the
/// controller's decisions (`CronJobPlan`, pure) at given moments.
@Suite struct CronJobTests {
    static let utc = TimeZone(identifier: "UTC")!

    static func date(_ text: String) -> Date { Timestamp.date(text)! }

    @Test(arguments: [
        ("*/15 * * * *", "2026-12-07T10:45:00Z", true), ("*/15 * * * *", "2026-12-07T10:46:00Z", false),
        ("0 3 * * *", "2026-12-07T03:00:00Z", true), ("@hourly", "2026-12-07T05:00:00Z", true), ("@hourly", "2026-12-07T05:01:00Z", false),
        ("0 0 1 jan *", "2027-01-01T00:00:00Z", true), ("30 9 * * mon-fri", "2026-12-07T09:30:00Z", true),
        ("30 9 * * MON-FRI", "2026-12-06T09:30:00Z", false), ("0 0 13 * 5", "2026-11-13T00:00:00Z", true),
        ("0 0 13 * 5", "2026-12-11T00:00:00Z", true), ("0 0 * * 7", "2026-12-06T00:00:00Z", true), ("5,10-12 1 * * *", "2026-12-07T01:11:00Z", true),
    ] as [(String, String, Bool)])
    func schedulesMatchTheirMinutes(schedule: String, moment: String, expected: Bool) throws {
        #expect(try CronSchedule(schedule).matches(Self.date(moment), in: Self.utc) == expected, "\(schedule) at \(moment)")
    }

    @Test func schedulesAreReadInTheirTimeZone() throws {
        let schedule = try CronSchedule("0 9 * * *")
        let tokyo = TimeZone(identifier: "Asia/Tokyo")!
        #expect(schedule.matches(Self.date("2026-12-07T00:00:00Z"), in: tokyo) && !schedule.matches(Self.date("2026-12-07T09:00:00Z"), in: tokyo))
        #expect(schedule.lastTime(after: Self.date("2026-12-05T00:00:00Z"), upTo: Self.date("2026-12-07T08:59:59Z"), in: Self.utc)
                == Self.date("2026-12-06T09:00:00Z"))
        #expect(CronSchedule.civil(0) == (1970, 1, 1) && CronSchedule.civil(20794) == (2026, 12, 7))
    }

    @Test(arguments: ["* * * *", "61 * * * *", "* * * * * *", "5-1 * * * *", "@often", "*/0 * * * *"])
    func badSchedulesAreRefused(schedule: String) {
        #expect(throws: CronSchedule.Failure.self) { try CronSchedule(schedule) }
    }

    static func cronJob(_ schedule: String = "*/5 * * * *", policy: String = "Allow", created: String = "2026-12-07T10:00:00Z") throws -> CronJob {
        let json = #"{"metadata":{"name":"tick","namespace":"dev","uid":"c1","creationTimestamp":"\#(created)"},"spec":{"schedule":"\#(schedule)","#
            + #""concurrencyPolicy":"\#(policy)","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}}}}"#
        var cronJob = try KubeJSON.decoder.decode(CronJob.self, from: Data(json.utf8))
        cronJob.applyDefaults()
        return cronJob
    }

    static func job(_ name: String, finished: String? = nil, created: String = "2026-12-07T10:05:00Z") -> Job {
        var job = Job(metadata: ObjectMeta(name: name, namespace: "dev"), spec: .init(template: PodTemplateSpec(metadata: nil, spec: PodSpec(containers: []))))
        job.metadata.creationTimestamp = created
        if let finished { job.status = Job.Status(); job.status?.conditions = [Condition(type: finished, status: "True")] }
        return job
    }

    @Test func aScheduledTimeMakesItsJob() throws {
        let cronJob = try Self.cronJob()
        #expect(CronJobPlan.make(cronJob, jobs: [], now: Self.date("2026-12-07T10:04:59Z")).create == nil, "nothing due yet")
        let plan = CronJobPlan.make(cronJob, jobs: [], now: Self.date("2026-12-07T10:05:20Z"))
        let due = Self.date("2026-12-07T10:05:00Z")
        #expect(plan.create?.name == "tick-\(Int(due.timeIntervalSince1970 / 60))" && plan.status.lastScheduleTime == "2026-12-07T10:05:00Z")
        #expect(plan.create?.metadata.ownerReferences?.first?.uid == "c1" && plan.create?.metadata.annotations?[CronJob.scheduledAnnotation] != nil)
        var scheduled = cronJob
        scheduled.status = plan.status
        #expect(CronJobPlan.make(scheduled, jobs: [], now: Self.date("2026-12-07T10:09:00Z")).create == nil, "once per time")
        #expect(CronJobPlan.make(scheduled, jobs: [], now: Self.date("2026-12-07T10:31:00Z")).status.lastScheduleTime == "2026-12-07T10:30:00Z",
                "only the latest missed time runs")
    }

    @Test func concurrencyPoliciesAndHistory() throws {
        let now = Self.date("2026-12-07T10:10:10Z"), running = Self.job("tick-running")
        #expect(CronJobPlan.make(try Self.cronJob(policy: "Forbid"), jobs: [running], now: now).create == nil)
        let replace = CronJobPlan.make(try Self.cronJob(policy: "Replace"), jobs: [running], now: now)
        #expect(replace.create != nil && replace.delete == [running])
        let allow = CronJobPlan.make(try Self.cronJob(), jobs: [running], now: now)
        #expect(allow.create != nil && allow.delete.isEmpty && allow.status.active?.map(\.name) == ["tick-running"])
        let done = (1...5).map { Self.job("tick-\($0)", finished: "Complete", created: "2026-12-07T10:0\($0):00Z") }
            + [Self.job("tick-f1", finished: "Failed", created: "2026-12-07T10:01:30Z"), Self.job("tick-f2", finished: "Failed", created: "2026-12-07T10:02:30Z")]
        let trimmed = CronJobPlan.make(try Self.cronJob(), jobs: done, now: now)
        #expect(Set(trimmed.delete.map(\.name)) == ["tick-1", "tick-2", "tick-f1"], "3 successes and 1 failure kept")
    }

    @Test func badCronJobsAreRefused() throws {
        var cronJob = try Self.cronJob("not a schedule")
        cronJob.spec.timeZone = "Mars/Olympus"
        cronJob.spec.concurrencyPolicy = "Sometimes"
        cronJob.spec.jobTemplate.spec.template.spec.restartPolicy = "Always"
        #expect(cronJob.validate().map(\.description) == [
            #"spec.schedule: Invalid value: "not a schedule": expected exactly 5 fields, found 3: not a schedule"#,
            #"spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus"#,
            #"spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace""#,
            #"spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#,
        ])
    }
}
