import Foundation
import KindlingAPI
@testable import KindlingServer
import KindlingStore
import Testing

/// RBAC as Kubernetes documents it: what a request asks (read from its path), which rules cover it, which
/// bindings grant rules to whom, kube-apiserver's 403, and the handler enforcing it for a ServiceAccount.
@Suite struct RBACTests {
    @Test(arguments: [
        ("GET", "/api/v1/namespaces/dev/pods", [:], RequestAttributes(verb: "list", group: "", resource: "pods", namespace: "dev")),
        ("GET", "/api/v1/namespaces/dev/pods", ["watch": "true"], RequestAttributes(verb: "watch", group: "", resource: "pods", namespace: "dev")),
        ("GET", "/api/v1/namespaces/dev/pods/web/log", [:],
         RequestAttributes(verb: "get", group: "", resource: "pods", subresource: "log", namespace: "dev", name: "web")),
        ("POST", "/apis/apps/v1/namespaces/dev/deployments", [:], RequestAttributes(verb: "create", group: "apps", resource: "deployments", namespace: "dev")),
        ("DELETE", "/api/v1/namespaces/dev/configmaps", [:], RequestAttributes(verb: "deletecollection", group: "", resource: "configmaps", namespace: "dev")),
        ("PATCH", "/api/v1/nodes/n1/status", [:], RequestAttributes(verb: "patch", group: "", resource: "nodes", subresource: "status", name: "n1")),
        ("GET", "/api/v1/namespaces/dev", [:], RequestAttributes(verb: "get", group: "", resource: "namespaces", namespace: "dev", name: "dev")),
        ("PUT", "/api/v1/namespaces/dev/finalize", [:],
         RequestAttributes(verb: "update", group: "", resource: "namespaces", subresource: "finalize", namespace: "dev", name: "dev")),
        ("GET", "/apis/apps/v1", [:], RequestAttributes(verb: "get", path: "/apis/apps/v1")),
        ("GET", "/version", [:], RequestAttributes(verb: "get", path: "/version")),
    ] as [(String, String, [String: String], RequestAttributes)])
    func requestsAreReadFromTheirPath(method: String, path: String, query: [String: String], expected: RequestAttributes) {
        var attributes = RequestAttributes(method: method, path: path, query: query)
        attributes.path = expected.path
        #expect(attributes == expected)
    }

    static let pods = RequestAttributes(verb: "get", group: "", resource: "pods", namespace: "dev", name: "web")
    static let logs = RequestAttributes(verb: "get", group: "", resource: "pods", subresource: "log", namespace: "dev", name: "web")
    static let scale = RequestAttributes(verb: "update", group: "apps", resource: "deployments", subresource: "scale", namespace: "dev", name: "d")

    @Test(arguments: [
        (PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["pods"]), pods, true),
        (PolicyRule(verbs: ["list"], apiGroups: [""], resources: ["pods"]), pods, false),
        (PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]), logs, true),
        (PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["pods"]), logs, false),
        (PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["pods/log"]), logs, true),
        (PolicyRule(verbs: ["update"], apiGroups: ["apps"], resources: ["*/scale"]), scale, true),
        (PolicyRule(verbs: ["update"], apiGroups: [""], resources: ["*/scale"]), scale, false),
        (PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["web"]), pods, true),
        (PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["db"]), pods, false),
        (PolicyRule(verbs: ["get"], nonResourceURLs: ["/healthz"]), RequestAttributes(verb: "get", path: "/healthz"), true),
        (PolicyRule(verbs: ["get"], nonResourceURLs: ["/apis/*"]), RequestAttributes(verb: "get", path: "/apis/apps/v1"), true),
        (PolicyRule(verbs: ["get"], nonResourceURLs: ["/apis"]), RequestAttributes(verb: "get", path: "/apis/apps"), false),
        (PolicyRule(verbs: ["get"], nonResourceURLs: ["*"]), pods, false),
    ] as [(PolicyRule, RequestAttributes, Bool)])
    func rulesCoverWhatTheyName(rule: PolicyRule, request: RequestAttributes, covered: Bool) {
        #expect(RBACPolicy.covers(rule, request) == covered)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ json: String) -> T { try! KubeJSON.decoder.decode(T.self, from: Data(json.utf8)) }

    static let robot = UserInfo(username: "system:serviceaccount:dev:robot", groups: ServiceAccount.groups(namespace: "dev"))

    @Test func bindingsGrantRulesToTheirSubjectsWhereTheyApply() {
        let reader = ClusterRole(name: "pod-reader", rules: [PolicyRule(verbs: ["get", "list"], apiGroups: [""], resources: ["pods"])])
        let local = Self.decode(RoleBinding.self, #"""
            {"metadata":{"name":"read","namespace":"dev"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"pod-reader"},
             "subjects":[{"kind":"ServiceAccount","name":"robot"}]}
            """#)
        let policy = RBACPolicy(clusterRoles: [reader], roleBindings: [local])
        #expect(policy.allows(Self.robot, Self.pods) == (true, #"RBAC: allowed by RoleBinding "read/dev" of ClusterRole "pod-reader" to User "system:serviceaccount:dev:robot""#))
        var elsewhere = Self.pods
        elsewhere.namespace = "prod"
        #expect(policy.allows(Self.robot, elsewhere).allowed == false, "a RoleBinding grants only in its namespace")
        #expect(policy.allows(UserInfo(username: "system:serviceaccount:prod:robot", groups: []), Self.pods).allowed == false)
        let everyone = ClusterRoleBinding(name: "all-read", role: "pod-reader", subjects: [RBACSubject(kind: "Group", name: "system:serviceaccounts")])
        #expect(RBACPolicy(clusterRoles: [reader], clusterRoleBindings: [everyone]).allows(Self.robot, elsewhere).allowed)
        #expect(RBACPolicy(clusterRoles: [], clusterRoleBindings: [everyone]).allows(Self.robot, elsewhere).allowed == false, "a missing role grants nothing")
    }

    @Test func refusalsSayWhatWasRefusedInKubernetesWords() {
        #expect(RBACPolicy.forbidden(Self.robot, RequestAttributes(verb: "list", group: "", resource: "pods", namespace: "dev")).message
                == #"pods is forbidden: User "system:serviceaccount:dev:robot" cannot list resource "pods" in API group "" in the namespace "dev""#)
        #expect(RBACPolicy.forbidden(Self.robot, RequestAttributes(verb: "get", group: "", resource: "nodes", name: "n1")).message
                == #"nodes "n1" is forbidden: User "system:serviceaccount:dev:robot" cannot get resource "nodes" in API group "" at the cluster scope"#)
        #expect(RBACPolicy.forbidden(Self.robot, Self.logs).message
                == #"pods "web" is forbidden: User "system:serviceaccount:dev:robot" cannot get resource "pods/log" in API group "" in the namespace "dev""#)
        #expect(RBACPolicy.forbidden(Self.robot, RequestAttributes(verb: "get", path: "/metrics")).message
                == #"forbidden: User "system:serviceaccount:dev:robot" cannot get path "/metrics""#)
    }

    @Test func theHandlerAuthorizesEveryRequest() async throws {
        let registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        try BootstrapPolicy.ensure(registry)
        // view aggregates system:aggregate-to-view; edit aggregates view in a second pass.
        for _ in 0..<2 { try ClusterRoleAggregationController().sync(registry) }
        let handler = APIHandler(registry: registry)
        func call(_ method: String, _ path: String, _ body: String = "", as user: UserInfo = Self.robot) async -> (Int, [String: Any]) {
            let request = APIRequest(method: method, path: path, body: Data(body.utf8), contentType: "application/json", user: user)
            guard case .json(let status, let data, _, _) = await handler.handle(request) else { return (0, [:]) }
            return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
        }
        #expect(await call("GET", "/api/v1/namespaces/dev/pods").0 == 403)
        #expect(await call("GET", "/apis").0 == 200, "discovery is every authenticated caller's")
        let canI = #"{"spec":{"resourceAttributes":{"namespace":"dev","verb":"list","resource":"pods"}}}"#
        let (_, before) = await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", canI)
        #expect((before["status"] as? [String: Any])?["allowed"] as? Bool == false)
        let binding = #"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"view"},
             "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"dev"}]}
            """#
        #expect(await call("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings", binding).0 == 403, "no escalation without rights")
        #expect(await call("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings", binding, as: .admin).0 == 201)
        #expect(await call("GET", "/api/v1/namespaces/dev/pods").0 == 200)
        #expect(await call("GET", "/api/v1/namespaces/dev/secrets").0 == 403, "view reads no Secrets")
        let (_, after) = await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", canI)
        #expect((after["status"] as? [String: Any])?["allowed"] as? Bool == true)
        let (_, whoami) = await call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", #"{}"#)
        #expect(((whoami["status"] as? [String: Any])?["userInfo"] as? [String: Any])?["username"] as? String == Self.robot.username)
        #expect(await call("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", as: .admin).0 == 405)

        // Impersonation: the admin may act as the robot; the robot may not act as anyone.
        func impersonating(_ path: String, as caller: UserInfo, _ impersonation: Impersonation) async -> (Int, String) {
            let request = APIRequest(method: "GET", path: path, user: caller, impersonation: impersonation)
            guard case .json(let status, let data, _, _) = await handler.handle(request) else { return (0, "") }
            return (status, (try? KubeJSON.decoder.decode(Status.self, from: data))?.message ?? "")
        }
        #expect(await impersonating("/api/v1/namespaces/dev/secrets", as: .admin, Impersonation(user: Self.robot.username)).0 == 403,
                "acting as the robot, the admin has only its rights")
        #expect(await impersonating("/api/v1/namespaces/dev/pods", as: .admin, Impersonation(user: Self.robot.username)).0 == 200)
        let (refused, message) = await impersonating("/api/v1/namespaces/dev/pods", as: Self.robot, Impersonation(user: "jane"))
        #expect(refused == 403 && message == #"users "jane" is forbidden: User "system:serviceaccount:dev:robot" cannot impersonate resource "users" in API group "" at the cluster scope"#)
    }

    @Test func aggregatedRolesHoldTheRulesOfTheRolesTheySelect() {
        let reader = PolicyRule(verbs: ["get"], apiGroups: ["stable.example.com"], resources: ["crontabs"])
        let crontabs = ClusterRole(name: "crontab-reader", rules: [reader], labels: ["rbac.authorization.k8s.io/aggregate-to-view": "true"])
        let other = ClusterRole(name: "unrelated", rules: [PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"])])
        let view = BootstrapPolicy.aggregated("view", partOf: "edit")
        let base = ClusterRole(name: "system:aggregate-to-view", rules: BootstrapPolicy.view, labels: ["rbac.authorization.k8s.io/aggregate-to-view": "true"])
        let rules = ClusterRoleAggregationController.rules(of: view, among: [view, crontabs, other, base])
        #expect(rules == [reader] + BootstrapPolicy.view)
    }
}
