import Foundation
import KindlingAddresses

/// `batch/v1 CronJob`: a Job made from `jobTemplate` at each time of `schedule` (in `timeZone`, the server's
/// UTC by default), as `concurrencyPolicy` allows, with the last few finished Jobs kept.
public struct CronJob: KubeObject {
    public static let apiVersion = "batch/v1"
    public static let kind = "CronJob"
    public static let resource = "cronjobs"
    public static let namespaced = true
    public static let shortNames = ["cj"]
    public static let categories = ["all"]
    public static let subresources: [ServedKind.Subresource] = [.status(of: CronJob.self)]

    public static let scheduledAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

    public struct JobTemplate: Codable, Hashable, Sendable {
        public var metadata: ObjectMeta?
        public var spec: Job.Spec
    }

    public struct Spec: Codable, Hashable, Sendable {
        public var schedule: String
        public var timeZone: String?
        public var startingDeadlineSeconds: Int64?
        public var concurrencyPolicy: String?
        public var suspend: Bool?
        public var jobTemplate: JobTemplate
        public var successfulJobsHistoryLimit: Int?
        public var failedJobsHistoryLimit: Int?
    }

    public struct Status: Codable, Hashable, Sendable {
        public var active: [ObjectReference]?
        public var lastScheduleTime: String?
        public var lastSuccessfulTime: String?
        public init() {}
    }

    /// `v1 ObjectReference`, as `status.active` lists Jobs.
    public struct ObjectReference: Codable, Hashable, Sendable {
        public var apiVersion: String?
        public var kind: String?
        public var namespace: String?
        public var name: String?
        public var uid: String?
        public var resourceVersion: String?
        public init(job: Job) {
            apiVersion = Job.apiVersion
            kind = Job.kind
            namespace = job.namespace
            name = job.name
            uid = job.metadata.uid
            resourceVersion = job.metadata.resourceVersion
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public static let policies = ["Allow", "Forbid", "Replace"]

    public mutating func prepareForCreate() { status = Status() }

    public mutating func applyDefaults() {
        spec.concurrencyPolicy = spec.concurrencyPolicy ?? "Allow"
        spec.suspend = spec.suspend ?? false
        spec.successfulJobsHistoryLimit = spec.successfulJobsHistoryLimit ?? 3
        spec.failedJobsHistoryLimit = spec.failedJobsHistoryLimit ?? 1
        var job = Job(metadata: ObjectMeta(), spec: spec.jobTemplate.spec)
        job.applyDefaults()
        // The template's selector is the Job's to make, from its own uid.
        spec.jobTemplate.spec = job.spec
    }

    /// The time zone the schedule is read in.
    public var zone: TimeZone? { spec.timeZone.map { TimeZone(identifier: $0) } ?? TimeZone(identifier: "UTC") }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if spec.schedule.isEmpty {
            errors.append(.required("spec.schedule"))
        } else if spec.schedule.contains("TZ") {
            errors.append(.invalid("spec.schedule", spec.schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
        } else {
            do { _ = try CronSchedule(spec.schedule) } catch { errors.append(.invalid("spec.schedule", spec.schedule, error.description)) }
        }
        if let zone = spec.timeZone, TimeZone(identifier: zone) == nil || zone.isEmpty {
            errors.append(.invalid("spec.timeZone", zone, "unknown time zone \(zone)"))
        }
        if let policy = spec.concurrencyPolicy, !Self.policies.contains(policy) {
            errors.append(.unsupported("spec.concurrencyPolicy", policy, supported: Self.policies))
        }
        if let deadline = spec.startingDeadlineSeconds, deadline < 0 {
            errors.append(.invalid("spec.startingDeadlineSeconds", deadline, "must be greater than or equal to 0"))
        }
        for (field, value) in [("successfulJobsHistoryLimit", spec.successfulJobsHistoryLimit), ("failedJobsHistoryLimit", spec.failedJobsHistoryLimit)] {
            if let value, value < 0 { errors.append(.invalid("spec.\(field)", value, "must be greater than or equal to 0")) }
        }
        // The Job a time makes, checked as a Job (its selector is made when it is).
        var job = Job(metadata: ObjectMeta(name: metadata.name, namespace: metadata.namespace), spec: spec.jobTemplate.spec)
        job.metadata.uid = "template"
        job.prepareForCreate()
        return errors + job.validate().map { error in
            FieldError(error.kind, field: "spec.jobTemplate." + error.field, value: error.value, detail: error.detail)
        }
    }
}
