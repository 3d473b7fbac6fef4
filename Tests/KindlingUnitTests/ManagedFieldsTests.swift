import Foundation
import KindlingAPI
import KindlingMachinery
import KindlingServer
import Testing

/// Field ownership and server-side apply as structured-merge-diff has them: fieldsV1 paths, updates taking
/// fields, applies merging by list keys, conflicting, forcing, removing what a manager stopped applying, and
/// kubectl's first server-side apply of a client-side applied object.
@Suite struct ManagedFieldsTests {
    static func tree(_ json: String) -> [String: Any] {
        try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
    }

    static var service: [String: Any] { tree(#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]},"status":{}}"#) }

    func owned(_ entries: [ManagedFieldsEntry], _ manager: String) -> [String] {
        ManagedFields.paths(entries.first { $0.manager == manager }?.fieldsV1).map(ManagedFields.display).sorted()
    }

    @Test func applyOwnsWhatItSetsKeyedAsKubernetesKeysIt() throws {
        let (object, entries) = try ManagedFields.apply(Self.service, onto: [:], entries: [], manager: "kubectl", force: false,
                                                        kind: "Service", apiVersion: "v1", now: "t")
        #expect((object["spec"] as? NSDictionary) == (Self.service["spec"] as? NSDictionary))
        #expect(owned(entries, "kubectl") == [".metadata.labels.app", ".spec.ports[port=80,protocol=\"TCP\"]",
                                              ".spec.ports[port=80,protocol=\"TCP\"].port", ".spec.ports[port=80,protocol=\"TCP\"].targetPort",
                                              ".spec.selector"])
        let fields = try #require(entries.first?.fieldsV1)
        let json = String(decoding: try KubeJSON.encoder.encode(fields), as: UTF8.self)
        #expect(json.contains(#""k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{}"#), "\(json)")
        #expect(ManagedFields.paths(fields) == ManagedFields.paths(ManagedFields.fieldsV1(ManagedFields.paths(fields))))
    }

    @Test func updatesTakeTheFieldsTheyChange() throws {
        let created = ManagedFields.recordUpdate(old: nil, new: Self.service, entries: [], writer: .init(manager: "kubectl-create"),
                                                 kind: "Service", apiVersion: "v1", now: "t")
        var edited = Self.service
        edited["spec"] = Self.tree(#"{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":9090}],"type":"NodePort"}"#)
        let entries = ManagedFields.recordUpdate(old: Self.service, new: edited, entries: created, writer: .init(manager: "kubectl-edit"),
                                                 kind: "Service", apiVersion: "v1", now: "t2")
        #expect(owned(entries, "kubectl-edit") == [".spec.ports[port=80,protocol=\"TCP\"].targetPort", ".spec.type"])
        #expect(!owned(entries, "kubectl-create").contains(".spec.ports[port=80,protocol=\"TCP\"].targetPort"))
        #expect(owned(entries, "kubectl-create").contains(".spec.selector"))
        // A write that changes nothing records nothing.
        #expect(ManagedFields.recordUpdate(old: edited, new: edited, entries: entries, writer: .init(manager: "x"),
                                           kind: "Service", apiVersion: "v1", now: "t3") == entries)
    }

    @Test func appliesConflictUnlessForcedAndRemoveWhatTheyNoLongerApply() throws {
        let (first, applied) = try ManagedFields.apply(Self.service, onto: [:], entries: [], manager: "kubectl", force: false,
                                                       kind: "Service", apiVersion: "v1", now: "t")
        // Someone else changes the target port: the next apply of the old value conflicts.
        var edited = first
        edited["spec"] = Self.tree(#"{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":9090}]}"#)
        let entries = ManagedFields.recordUpdate(old: first, new: edited, entries: applied, writer: .init(manager: "kubectl-edit"),
                                                 kind: "Service", apiVersion: "v1", now: "t2")
        do {
            _ = try ManagedFields.apply(Self.service, onto: edited, entries: entries, manager: "kubectl", force: false,
                                        kind: "Service", apiVersion: "v1", now: "t3")
            Issue.record("expected a conflict")
        } catch let status as Status {
            #expect(status.code == 409)
            #expect(status.message == #"Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .spec.ports[port=80,protocol="TCP"].targetPort"#)
            #expect(status.details?.causes?.first?.field == #".spec.ports[port=80,protocol="TCP"].targetPort"#)
        }
        let (forced, after) = try ManagedFields.apply(Self.service, onto: edited, entries: entries, manager: "kubectl", force: true,
                                                      kind: "Service", apiVersion: "v1", now: "t3")
        #expect(((forced["spec"] as? [String: Any])?["ports"] as? [[String: Any]])?.first?["targetPort"] as? Int == 8080)
        #expect(!after.contains { $0.manager == "kubectl-edit" })

        // Applying without the label and with a second port: the label goes, the port is merged in by its key.
        var next = Self.service
        next["metadata"] = ["name": "web"]
        next["spec"] = Self.tree(#"{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080},{"port":443,"protocol":"TCP"}]}"#)
        var shared = forced
        shared["metadata"] = Self.tree(#"{"name":"web","labels":{"app":"web","tier":"front"}}"#)
        let withTier = ManagedFields.recordUpdate(old: forced, new: shared, entries: after, writer: .init(manager: "kubectl-label"),
                                                  kind: "Service", apiVersion: "v1", now: "t4")
        let (result, _) = try ManagedFields.apply(next, onto: shared, entries: withTier, manager: "kubectl", force: false,
                                                  kind: "Service", apiVersion: "v1", now: "t5")
        #expect((result["metadata"] as? [String: Any])?["labels"] as? [String: String] == ["tier": "front"])
        #expect(((result["spec"] as? [String: Any])?["ports"] as? [[String: Any]])?.map { $0["port"] as? Int } == [80, 443])
    }

    @Test func kubectlTakesOverWhatItAppliedClientSide() throws {
        let lastApplied = #"{"apiVersion":"v1","data":{"a":"1"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"m"}}"#
        let live = Self.tree(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"\#(lastApplied.replacingOccurrences(of: "\"", with: "\\\""))"}},"data":{"a":"1"}}"#)
        let entries = ManagedFields.recordUpdate(old: nil, new: live, entries: [], writer: .init(manager: "kubectl-client-side-apply"),
                                                 kind: "ConfigMap", apiVersion: "v1", now: "t")
        let config = Self.tree(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m"},"data":{"a":"2"}}"#)
        let (object, _) = try ManagedFields.apply(config, onto: live, entries: entries, manager: "kubectl", force: false,
                                                  kind: "ConfigMap", apiVersion: "v1", now: "t2")
        #expect(object["data"] as? [String: String] == ["a": "2"])
        // Any other manager conflicts.
        #expect(throws: Status.self) {
            try ManagedFields.apply(config, onto: live, entries: entries, manager: "helm", force: false, kind: "ConfigMap", apiVersion: "v1", now: "t2")
        }
    }

    @Test func writersAreNamedByFieldManagerElseUserAgent() {
        #expect(ManagedFields.Writer.manager(fieldManager: nil, userAgent: "kubectl/v1.37.1 (linux/amd64) kubernetes/abc") == "kubectl")
        #expect(ManagedFields.Writer.manager(fieldManager: "kubectl-edit", userAgent: "kubectl/v1.37.1") == "kubectl-edit")
        #expect(ManagedFields.Writer.manager(fieldManager: nil, userAgent: nil) == "unknown")
    }

    @Test func applyRequestsCreateAndNeedAFieldManager() async throws {
        let api = try APITests()
        let body = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"a":"1"}}"#
        let (refused, why) = await api.call("PATCH", "/api/v1/namespaces/dev/configmaps/applied", body, contentType: "application/apply-patch+yaml")
        #expect(refused == 400 && (why["message"] as? String)?.contains("fieldManager") == true)
        let applied = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\ndata: {a: \"1\"}\n"
        let (created, object) = await api.call("PATCH", "/api/v1/namespaces/dev/configmaps/applied", applied,
                                               query: ["fieldManager": "tester"], contentType: "application/apply-patch+yaml")
        #expect(created == 201 || created == 200)
        let managers = ((object["metadata"] as? [String: Any])?["managedFields"] as? [[String: Any]])?.map { $0["manager"] as? String }
        #expect(managers == ["tester"])
    }

    /// A map applied empty and later with fields stays (its fields are applied, not removed with it).
    @Test func aMapAppliedEmptyThenFilledKeepsItsFields() throws {
        let empty = Self.tree(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m","labels":{}},"data":{}}"#)
        let (first, entries) = try ManagedFields.apply(empty, onto: [:], entries: [], manager: "helm", force: false, kind: "ConfigMap", apiVersion: "v1", now: "t")
        let filled = Self.tree(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m","labels":{"app":"x"}},"data":{"a":"1"}}"#)
        let (second, _) = try ManagedFields.apply(filled, onto: first, entries: entries, manager: "helm", force: false, kind: "ConfigMap", apiVersion: "v1", now: "t2")
        #expect(second["data"] as? [String: String] == ["a": "1"])
        #expect((second["metadata"] as? [String: Any])?["labels"] as? [String: String] == ["app": "x"])
    }

    /// `managedFields: []` keeps them, `[{}]` clears them, as in kube-apiserver.
    @Test func emptyListKeepsAndOneEmptyEntryClears() async throws {
        let api = try APITests()
        _ = await api.call("POST", "/api/v1/namespaces/dev/configmaps", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"}}"#,
                           query: ["fieldManager": "maker"])
        let (_, kept) = await api.call("PATCH", "/api/v1/namespaces/dev/configmaps/c", #"{"metadata":{"managedFields":[]}}"#, contentType: "application/merge-patch+json")
        #expect(((kept["metadata"] as? [String: Any])?["managedFields"] as? [Any])?.count == 1)
        let (_, cleared) = await api.call("PATCH", "/api/v1/namespaces/dev/configmaps/c", #"{"metadata":{"managedFields":[{}]}}"#, contentType: "application/merge-patch+json")
        #expect((cleared["metadata"] as? [String: Any])?["managedFields"] == nil, "\(cleared)")
    }
}
