import Foundation
import KindlingAPI
@testable import KindlingServer
import Testing

/// A Deployment's Progressing condition as upstream keeps it (paused, progressing, timed out, done) and the
/// annotations its ReplicaSets carry (kubectl's change-cause).
@Suite struct DeploymentProgressTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func deployment(paused: Bool = false, deadline: Int = 60, previous: Condition? = nil, replicas: Int = 2) -> Deployment {
        var deployment = Deployment(metadata: ObjectMeta(name: "web", namespace: "d"), spec: .init(
            replicas: 3, selector: LabelSelector(matchLabels: ["app": "web"]),
            template: PodTemplateSpec(metadata: ObjectMeta(labels: ["app": "web"]), spec: PodSpec(containers: [Container(name: "c", image: "nginx")]))))
        deployment.spec.paused = paused
        deployment.spec.progressDeadlineSeconds = deadline
        var status = Deployment.Status()
        status.replicas = replicas
        status.conditions = previous.map { [$0] }
        deployment.status = status
        return deployment
    }

    static func rolling(updatedAt seconds: TimeInterval) -> Condition {
        var condition = Condition(type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: "ReplicaSet \"web-abc\" is progressing.")
        condition.lastUpdateTime = Timestamp.string(now.addingTimeInterval(-seconds))
        return condition
    }

    @Test func pausedRollingTimedOutAndDone() {
        var same = Deployment.Status()
        same.replicas = 2
        func progressing(_ deployment: Deployment, status: Deployment.Status = same, complete: Bool = false) -> Condition {
            DeploymentController.progressing(deployment, status: status, complete: complete, new: "web-abc", now: Self.now)
        }
        #expect(progressing(Self.deployment(paused: true)).reason == "DeploymentPaused")
        #expect(progressing(Self.deployment(paused: true)).status == "Unknown")
        let fresh = progressing(Self.deployment(previous: Self.rolling(updatedAt: 30)))
        #expect(fresh.reason == "ReplicaSetUpdated" && fresh.lastUpdateTime == Timestamp.string(Self.now.addingTimeInterval(-30)), "no progress, within the deadline")
        var moved = same
        moved.replicas = 3
        #expect(progressing(Self.deployment(previous: Self.rolling(updatedAt: 300)), status: moved).lastUpdateTime == Timestamp.string(Self.now),
                "progress moves the time on")
        let stuck = progressing(Self.deployment(previous: Self.rolling(updatedAt: 61)))
        #expect(stuck.status == "False" && stuck.reason == "ProgressDeadlineExceeded" && stuck.message == "ReplicaSet \"web-abc\" has timed out progressing.")
        #expect(progressing(Self.deployment(previous: Self.rolling(updatedAt: 61)), complete: true).reason == "NewReplicaSetAvailable")
    }

    @Test func theChangeCauseFollowsOntoTheReplicaSet() {
        var deployment = Self.deployment()
        deployment.metadata.annotations = ["kubernetes.io/change-cause": "image 1.26", DeploymentController.revisionAnnotation: "4",
                                           "kubectl.kubernetes.io/last-applied-configuration": "{}"]
        var set = ReplicaSet(metadata: ObjectMeta(name: "web-abc"), spec: .init(replicas: 1, selector: LabelSelector(matchLabels: [:]),
                                                                             template: deployment.spec.template!))
        set.metadata.annotations = [DeploymentController.revisionAnnotation: "2"]
        #expect(DeploymentController.replicaSetAnnotations(deployment, set) == ["kubernetes.io/change-cause": "image 1.26",
                                                                               DeploymentController.revisionAnnotation: "2"])
    }
}
