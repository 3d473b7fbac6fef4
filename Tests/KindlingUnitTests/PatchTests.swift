import Foundation
import KindlingAPI
import KindlingMachinery
import Testing

/// Strategic merge patch and JSON patch against the cases kubectl's own flows produce.
@Suite struct PatchTests {
    static var deployment: [String: Any] { [
        "metadata": ["name": "web", "finalizers": ["a", "b"], "labels": ["app": "web"]],
        "spec": ["replicas": 2, "strategy": ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": 1]],
                 "template": ["spec": ["containers": [
                    ["name": "nginx", "image": "nginx:1.25", "ports": [["containerPort": 80]], "env": [["name": "A", "value": "1"]]],
                    ["name": "sidecar", "image": "busybox"],
                 ], "tolerations": [["key": "x"]]]]],
    ] }

    func containers(_ tree: [String: Any]) -> [[String: Any]] {
        (((tree["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]] ?? []
    }

    @Test func listsMergeByTheirKeyAndKeepWhatThePatchDoesNotName() throws {
        // What kubectl apply sends for a changed image.
        let patch: [String: Any] = ["spec": ["template": ["spec": [
            "$setElementOrder/containers": [["name": "sidecar"], ["name": "nginx"]],
            "containers": [["name": "nginx", "image": "nginx:1.27", "env": [["name": "B", "value": "2"]]]],
        ]]]]
        let result = try Patch.strategicMerge(patch, onto: Self.deployment, kind: "Deployment")
        let merged = containers(result)
        #expect(merged.map { $0["name"] as? String } == ["sidecar", "nginx"], "the patch's order")
        #expect(merged[1]["image"] as? String == "nginx:1.27")
        #expect((merged[1]["ports"] as? [[String: Any]])?.first?["containerPort"] as? Int == 80, "untouched fields stay")
        #expect((merged[1]["env"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["A", "B"], "env merges by name")
        #expect(!result.keys.contains { $0.hasPrefix("$") })
        #expect(!"\(result)".contains("$setElementOrder"))
    }

    @Test func directivesDeleteReplaceRetainAndRemoveFromPrimitiveLists() throws {
        let patch: [String: Any] = [
            "metadata": ["$deleteFromPrimitiveList/finalizers": ["a"], "labels": ["app": NSNull(), "tier": "front"]],
            "spec": ["strategy": ["$retainKeys": ["type"], "type": "Recreate"],
                     "template": ["spec": ["containers": [["name": "sidecar", "$patch": "delete"]],
                                           "tolerations": [["key": "y"]]]]],
        ]
        let result = try Patch.strategicMerge(patch, onto: Self.deployment, kind: "Deployment")
        let meta = result["metadata"] as? [String: Any]
        #expect(meta?["finalizers"] as? [String] == ["b"])
        #expect(meta?["labels"] as? [String: String] == ["tier": "front"])
        #expect((result["spec"] as? [String: Any])?["strategy"] as? [String: String] == ["type": "Recreate"], "retainKeys dropped rollingUpdate")
        #expect(containers(result).map { $0["name"] as? String } == ["nginx"])
        let tolerations = ((((result["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?["tolerations"] as? [[String: Any]])
        #expect(tolerations?.map { $0["key"] as? String } == ["y"], "a list without a merge key is replaced")

        let replaced = try Patch.strategicMerge(["metadata": ["labels": ["$patch": "replace", "only": "this"]]], onto: Self.deployment, kind: "Deployment")
        #expect((replaced["metadata"] as? [String: Any])?["labels"] as? [String: String] == ["only": "this"])
        let listReplaced = try Patch.strategicMerge(["spec": ["template": ["spec": ["containers": [["$patch": "replace"], ["name": "solo", "image": "x"]]]]]],
                                                    onto: Self.deployment, kind: "Deployment")
        #expect(containers(listReplaced).map { $0["name"] as? String } == ["solo"])
    }

    @Test func servicePortsMergeByPortAndBadPatchesFail() throws {
        let service: [String: Any] = ["spec": ["ports": [["name": "http", "port": 80, "targetPort": 8080], ["name": "https", "port": 443]]]]
        let result = try Patch.strategicMerge(["spec": ["ports": [["port": 80, "nodePort": 30000]]]], onto: service, kind: "Service")
        let ports = (result["spec"] as? [String: Any])?["ports"] as? [[String: Any]]
        #expect(ports?.count == 2 && ports?[0]["targetPort"] as? Int == 8080 && ports?[0]["nodePort"] as? Int == 30000)
        #expect(throws: Patch.Failure.self) { try Patch.strategicMerge(["spec": ["ports": [["name": "no-port"]]]], onto: service, kind: "Service") }
        #expect(throws: Patch.Failure.self) { try Patch.strategicMerge(["spec": ["$patch": "sideways"]], onto: service, kind: "Service") }
    }

    @Test func jsonPatchOperations() throws {
        let document: [String: Any] = ["spec": ["ports": [["port": 80]], "selector": ["app": "web"]]]
        let result = try Patch.jsonPatch([
            ["op": "add", "path": "/spec/ports/-", "value": ["port": 443]],
            ["op": "replace", "path": "/spec/ports/0/port", "value": 8080],
            ["op": "copy", "from": "/spec/selector/app", "path": "/spec/selector/copy"],
            ["op": "move", "from": "/spec/selector/app", "path": "/spec/selector/moved"],
            ["op": "remove", "path": "/spec/selector/copy"],
            ["op": "test", "path": "/spec/selector/moved", "value": "web"],
            ["op": "add", "path": "/spec/a~1b", "value": true],
        ], onto: document) as? [String: Any]
        let spec = result?["spec"] as? [String: Any]
        #expect((spec?["ports"] as? [[String: Int]]) == [["port": 8080], ["port": 443]])
        #expect(spec?["selector"] as? [String: String] == ["moved": "web"])
        #expect(spec?["a/b"] as? Bool == true)
        #expect(throws: Patch.Failure.self) { try Patch.jsonPatch([["op": "replace", "path": "/spec/nope", "value": 1]], onto: document) }
        #expect(throws: Patch.Failure.self) { try Patch.jsonPatch([["op": "remove", "path": "/spec/ports/5"]], onto: document) }
        #expect(throws: Patch.Failure.self) { try Patch.jsonPatch([["op": "test", "path": "/spec/selector/app", "value": "db"]], onto: document) }
        #expect(throws: Patch.Failure.self) { try Patch.jsonPatch([["op": "jump", "path": "/spec"]], onto: document) }
    }
}
