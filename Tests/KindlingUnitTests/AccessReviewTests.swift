import Crypto
import Foundation
import KindlingAPI
import KindlingPrinters
@testable import KindlingServer
import KindlingStore
import Testing

/// The reviews that ask about others and about everything: SubjectAccessReview, LocalSubjectAccessReview,
/// SelfSubjectRulesReview (`kubectl auth can-i --list`) and TokenReview, through the handler.
@Suite struct AccessReviewTests {
    let registry: Registry
    let handler: APIHandler
    let tokens: ServiceAccountTokens
    static let robot = UserInfo(username: "system:serviceaccount:dev:robot", groups: ServiceAccount.groups(namespace: "dev"))

    init() throws {
        registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        try BootstrapPolicy.ensure(registry)
        for _ in 0..<2 { try ClusterRoleAggregationController().sync(registry) }
        tokens = try ServiceAccountTokens(pem: P256.Signing.PrivateKey().pemRepresentation)
        handler = APIHandler(registry: registry, tokens: tokens, adminToken: "admin-secret")
        let binding = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"robot-view","namespace":"dev"},
             "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"dev"}]}
            """#
        _ = try registry.create(try KubeJSON.decoder.decode(RoleBinding.self, from: Data(binding.utf8)))
    }

    func post(_ path: String, _ body: String, as user: UserInfo = .admin) async -> (Int, [String: Any]) {
        let request = APIRequest(method: "POST", path: path, body: Data(body.utf8), contentType: "application/json", user: user)
        guard case .json(let status, let data, _, _) = await handler.handle(request) else { return (0, [:]) }
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    func allowed(_ answer: (Int, [String: Any])) -> Bool? { (answer.1["status"] as? [String: Any])?["allowed"] as? Bool }

    @Test func subjectAccessReviewsAnswerForTheUserNamed() async throws {
        let path = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        func review(_ verb: String, _ resource: String, user: String, groups: [String] = []) -> String {
            let groups = groups.map { "\"\($0)\"" }.joined(separator: ",")
            return #"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"\#(user)","groups":[\#(groups)],"#
                + #""resourceAttributes":{"namespace":"dev","verb":"\#(verb)","resource":"\#(resource)"}}}"#
        }
        let listPods = await post(path, review("list", "pods", user: Self.robot.username))
        #expect(listPods.0 == 201 && allowed(listPods) == true)
        #expect(((listPods.1["status"] as? [String: Any])?["reason"] as? String)?.contains(#"RoleBinding "robot-view/dev" of ClusterRole "view""#) == true)
        #expect(allowed(await post(path, review("get", "secrets", user: Self.robot.username))) == false, "view reads no Secrets")
        #expect(allowed(await post(path, review("delete", "pods", user: "jane", groups: ["system:masters"]))) == true)
        let (refused, status) = await post(path, #"{"spec":{}}"#)
        #expect(refused == 422)
        #expect(status["message"] as? String == #"SubjectAccessReview.authorization.k8s.io "" is invalid: [spec: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.user: Invalid value: "": at least one of user or group must be specified]"#)
        #expect(await post(path, review("list", "pods", user: "jane"), as: Self.robot).0 == 403, "only who may create subjectaccessreviews")
    }

    @Test func localReviewsStayInTheirNamespace() async throws {
        let path = "/apis/authorization.k8s.io/v1/namespaces/dev/localsubjectaccessreviews"
        let asked = #"{"spec":{"user":"system:serviceaccount:dev:robot","resourceAttributes":{"namespace":"dev","verb":"list","resource":"pods"}}}"#
        let answer = await post(path, asked)
        #expect(answer.0 == 201 && allowed(answer) == true)
        #expect((answer.1["metadata"] as? [String: Any])?["namespace"] as? String == "dev")
        let elsewhere = asked.replacingOccurrences(of: #""namespace":"dev""#, with: #""namespace":"prod""#)
        let (refused, status) = await post(path, elsewhere)
        #expect(refused == 422 && (status["message"] as? String)?.contains(#"spec.resourceAttributes.namespace: Invalid value: "prod": must match metadata.namespace"#) == true)
    }

    @Test func rulesReviewsListWhatTheCallerMayDo() async throws {
        let path = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
        let (code, answer) = await post(path, #"{"spec":{"namespace":"dev"}}"#, as: Self.robot)
        #expect(code == 201)
        let status = try #require(answer["status"] as? [String: Any])
        let resourceRules = try #require(status["resourceRules"] as? [[String: Any]])
        #expect(resourceRules.contains { ($0["resources"] as? [String])?.contains("pods") == true && ($0["verbs"] as? [String])?.contains("list") == true })
        #expect(resourceRules.contains { ($0["resources"] as? [String]) == ["selfsubjectaccessreviews", "selfsubjectrulesreviews"] }, "system:basic-user's")
        #expect((status["nonResourceRules"] as? [[String: Any]])?.isEmpty == false, "system:discovery's")
        #expect(status["incomplete"] as? Bool == false)
        let (_, elsewhere) = await post(path, #"{"spec":{"namespace":"prod"}}"#, as: Self.robot)
        let prodRules = (elsewhere["status"] as? [String: Any])?["resourceRules"] as? [[String: Any]] ?? []
        #expect(!prodRules.contains { ($0["resources"] as? [String])?.contains("pods") == true }, "the view binding is dev's")
        let (_, admin) = await post(path, #"{"spec":{"namespace":"dev"}}"#)
        #expect(((admin["status"] as? [String: Any])?["resourceRules"] as? [[String: Any]])?.first?["resources"] as? [String] == ["*"])
    }

    @Test func tokenReviewsSayWhoATokenIs() async throws {
        let account = try registry.create(ServiceAccount(namespace: "dev", name: "robot"))
        let path = "/apis/authentication.k8s.io/v1/tokenreviews"
        let issued = try tokens.issue(for: account, audiences: [], seconds: 600)
        let (code, answer) = await post(path, #"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"\#(issued.token)"}}"#)
        let status = try #require(answer["status"] as? [String: Any])
        #expect(code == 201 && status["authenticated"] as? Bool == true)
        #expect((status["user"] as? [String: Any])?["username"] as? String == Self.robot.username)
        #expect(status["audiences"] as? [String] == [ServiceAccountTokens.issuer])
        let vault = try tokens.issue(for: account, audiences: ["vault"], seconds: 600)
        let (_, foreign) = await post(path, #"{"spec":{"token":"\#(vault.token)"}}"#)
        #expect((foreign["status"] as? [String: Any])?["authenticated"] as? Bool == false, "not for the API's audience")
        let (_, asked) = await post(path, #"{"spec":{"token":"\#(vault.token)","audiences":["vault"]}}"#)
        #expect((asked["status"] as? [String: Any])?["audiences"] as? [String] == ["vault"])
        let (_, admin) = await post(path, #"{"spec":{"token":"admin-secret"}}"#)
        #expect(((admin["status"] as? [String: Any])?["user"] as? [String: Any])?["username"] as? String == "kubernetes-admin")
        let (_, bogus) = await post(path, #"{"spec":{"token":"nonsense"}}"#)
        #expect((bogus["status"] as? [String: Any])?["error"] as? String != nil)
        let (empty, status400) = await post(path, #"{"spec":{}}"#)
        #expect(empty == 400 && status400["message"] as? String == "token is required for TokenReview in authentication")
        #expect(await post(path, #"{"spec":{"token":"x"}}"#, as: Self.robot).0 == 403, "only who may create tokenreviews")
    }
}

/// kube-apiserver's local APIServices, one per served group version, and what their availability says.
@Suite struct APIServiceTests {
    @Test func everyServedGroupVersionHasItsLocalAPIService() throws {
        let registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "default"))
        let controller = APIServiceRegistration()
        try controller.sync(registry)
        let services = try registry.list(APIService.self).items
        let names = Set(services.map(\.name))
        #expect(names.isSuperset(of: ["v1.", "v1.apps", "v1.rbac.authorization.k8s.io", "v1.apiextensions.k8s.io", "v1.apiregistration.k8s.io"]))
        #expect(services.allSatisfy { $0.status?.conditions?["Available"]?.status == "True" && $0.status?.conditions?["Available"]?.reason == "Local" })
        #expect(services.first { $0.name == "v1." }?.metadata.labels?[APIServiceRegistration.automanaged] == "onstart")

        try registry.kinds.add(CustomKind(ServedKind(group: "stable.example.com", version: "v1", kind: "CronTab", resource: "crontabs", namespaced: true)))
        try controller.sync(registry)
        let custom = try registry.get(APIService.self, name: "v1.stable.example.com")
        #expect(custom.metadata.labels?[APIServiceRegistration.automanaged] == "true" && custom.spec.groupPriorityMinimum == 1000)
        registry.kinds.remove(groupVersion: "stable.example.com/v1", resource: "crontabs")
        try controller.sync(registry)
        #expect((try? registry.get(APIService.self, name: "v1.stable.example.com")) == nil, "gone with its last kind")

        var aggregated = APIService(metadata: ObjectMeta(name: "v1beta1.metrics.k8s.io"),
                                    spec: .init(group: "metrics.k8s.io", version: "v1beta1", groupPriorityMinimum: 100, versionPriority: 100))
        aggregated.spec.service = .init(namespace: "kube-system", name: "metrics-server", port: 443)
        _ = try registry.create(aggregated)
        try controller.sync(registry)
        let condition = try registry.get(APIService.self, name: "v1beta1.metrics.k8s.io").status?.conditions?["Available"]
        #expect(condition?.status == "False" && condition?.reason == "ServiceNotFound")
        #expect(condition?.message == #"service/metrics-server in "kube-system" is not present"#)
        let stored = try registry.get(APIService.self, name: "v1beta1.metrics.k8s.io")
        let cells = Printers.printer(for: APIService.self).cells(stored, PrintContext(now: 0, parseTime: { _ in 0 }))
        #expect(Array(cells[1...2]) == ["kube-system/metrics-server", "False (ServiceNotFound)"])
    }

    @Test func apiServicesAreCheckedInKubeAggregatorsWords() {
        let wrong = APIService(metadata: ObjectMeta(name: "v1.wrong"), spec: .init(group: "metrics.k8s.io", version: "v1", groupPriorityMinimum: 0, versionPriority: 1001))
        #expect(wrong.validate().map(\.description) == [
            #"metadata.name: Invalid value: "v1.wrong": must be `spec.version+"."+spec.group`: "v1.metrics.k8s.io""#,
            "spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000",
            "spec.versionPriority: Invalid value: 1001: must be positive and less than 1000",
        ])
        let core = APIService(metadata: ObjectMeta(name: "v2."), spec: .init(group: "", version: "v2", groupPriorityMinimum: 1, versionPriority: 1))
        #expect(core.validate().map(\.description) == ["spec.group: Required value: only v1 may have an empty group and it better be legacy kube"])
    }
}

/// RBAC's escalation prevention through the handler: a caller grants only what it holds, unless it may
/// `escalate` roles or `bind` the role named, in kube-apiserver's words.
@Suite struct RBACEscalationTests {
    @Test func nobodyGrantsWhatTheyDoNotHold() async throws {
        let setup = try AccessReviewTests()
        let robot = AccessReviewTests.robot
        let manager = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"rbac-manager","namespace":"dev"},
             "rules":[{"apiGroups":["rbac.authorization.k8s.io"],"resources":["roles","rolebindings"],"verbs":["create","update","patch"]}]}
            """#
        #expect(await setup.post("/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles", manager).0 == 201)
        let grant = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"robot-manager"},
             "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"rbac-manager"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"dev"}]}
            """#
        #expect(await setup.post("/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings", grant).0 == 201)
        func role(_ name: String, _ verbs: String) -> String {
            #"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"\#(name)"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":\#(verbs)}]}"#
        }
        let roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles"
        #expect(await setup.post(roles, role("reader", #"["get","list"]"#), as: robot).0 == 201, "view gives the robot these")
        let (refused, status) = await setup.post(roles, role("deleter", #"["get","delete","deletecollection"]"#), as: robot)
        #expect(refused == 403)
        #expect(status["message"] as? String == """
            roles.rbac.authorization.k8s.io "deleter" is forbidden: user "system:serviceaccount:dev:robot" \
            (groups=["system:serviceaccounts" "system:serviceaccounts:dev" "system:authenticated"]) is attempting to grant RBAC permissions \
            not currently held:
            {APIGroups:[""], Resources:["pods"], Verbs:["delete" "deletecollection"]}
            """)
        func binding(_ name: String, to role: String) -> String {
            #"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"\#(name)"},"#
                + #""roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"\#(role)"},"subjects":[{"kind":"User","name":"jane"}]}"#
        }
        let bindings = "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings"
        #expect(await setup.post(bindings, binding("jane-view", to: "view"), as: robot).0 == 201, "the robot holds view")
        #expect(await setup.post(bindings, binding("jane-edit", to: "edit"), as: robot).0 == 403, "but not edit")
        #expect(await setup.post(bindings, binding("jane-missing", to: "nope"), as: robot).0 == 404)
        let binder = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"edit-binder"},
             "rules":[{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"resourceNames":["edit"],"verbs":["bind"]}]}
            """#
        #expect(await setup.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", binder).0 == 201)
        let canBind = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"robot-binds-edit"},
             "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit-binder"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"dev"}]}
            """#
        #expect(await setup.post(bindings, canBind).0 == 201)
        #expect(await setup.post(bindings, binding("jane-edit", to: "edit"), as: robot).0 == 201, "bind on edit lets it bind edit")

        let aggregator = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"sum"},
             "aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"x":"y"}}]}}
            """#
        let clusterManager = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"robot-clusterroles"},
             "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"clusterrole-writer"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"dev"}]}
            """#
        let writer = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"clusterrole-writer"},
             "rules":[{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"verbs":["create"]}]}
            """#
        #expect(await setup.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", writer).0 == 201)
        #expect(await setup.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", clusterManager).0 == 201)
        let (aggregated, why) = await setup.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", aggregator, as: robot)
        #expect(aggregated == 403 && (why["message"] as? String)?.hasSuffix("must have cluster-admin privileges to use the aggregationRule") == true)
        #expect(await setup.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", aggregator).0 == 201, "the admin may")
    }
}
