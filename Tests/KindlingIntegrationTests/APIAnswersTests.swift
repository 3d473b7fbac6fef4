import Foundation
import KindlingAPI
import Testing

/// kube-apiserver's answers where clients notice them, with real kubectl and the official Python client:
/// ReplicationControllers, local APIServices, `auth can-i --list`, TokenReview and SubjectAccessReview, the
/// status a create returns, deletecollection, `Status` bodies byte for byte, and exec input the Python client
/// sends in WebSocket text frames.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct APIAnswersTests {
    let kubectlTests = KubectlTests()
    var cli: CLITests { kubectlTests.cli }

    static let replicationController = """
        apiVersion: v1
        kind: ReplicationController
        metadata: {name: sleeper}
        spec:
          replicas: 2
          template:
            metadata: {labels: {app: sleeper}}
            spec:
              containers:
              - {name: sleeper, image: busybox, command: [sleep, "3600"]}
        """

    @Test func kubectlSeesWhatKubeAPIServerServes() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("answers", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            var services = kubectlTests.columns(try kubectl(["get", "apiservices"]).output)
            for _ in 0..<20 where !services.contains(where: { $0.first == "v1.apps" }) {
                Thread.sleep(forTimeInterval: 0.2)
                services = kubectlTests.columns(try kubectl(["get", "apiservices"]).output)
            }
            #expect(services.first == ["NAME", "SERVICE", "AVAILABLE", "AGE"], "\(services)")
            #expect(services.contains { $0.prefix(3) == ["v1.apps", "Local", "True"] }, "\(services)")

            // Built-in kinds' schemas, read from kindling's types: kubectl explain finds them.
            let pods = try kubectl(["explain", "pods"])
            #expect(pods.status == 0 && pods.output.contains("KIND:       Pod") && pods.output.contains("One or more containers"), "\(pods.output)")
            let ports = try kubectl(["explain", "deployment.spec.template.spec.containers.ports"])
            #expect(ports.status == 0 && ports.output.contains("containerPort\t<integer>"), "\(ports.output)")
            let typo = try kubectl(["apply", "-f", "-"], input: "apiVersion: v1\nkind: Pdo\nmetadata: {name: x}\n")
            #expect(typo.status != 0 && typo.output.contains(#"no matches for kind "Pdo" in version "v1""#), "\(typo.output)")

            let created = try kubectl(["apply", "-f", "-"], input: Self.replicationController)
            #expect(created.status == 0 && created.output == "replicationcontroller/sleeper created\n", "\(created.output)")
            #expect(eventually(30) { kubectlTests.columns((try? kubectl(["get", "rc", "sleeper"]))?.output ?? "").last?.prefix(4) == ["sleeper", "2", "2", "2"] })
            #expect(kubectlTests.columns(try kubectl(["get", "rc"]).output).first == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"])
            let scaled = try kubectl(["scale", "rc", "sleeper", "--replicas=1"])
            #expect(scaled.output == "replicationcontroller/sleeper scaled\n", "\(scaled.output)")
            #expect(eventually(15) { kubectlTests.columns((try? kubectl(["get", "pods", "-l", "app=sleeper", "--no-headers"]))?.output ?? "").count == 1 })

            let admin = kubectlTests.columns(try kubectl(["auth", "can-i", "--list"]).output)
            #expect(admin.first == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"] && admin.contains(["*.*", "[]", "[]", "[*]"]), "\(admin)")
            #expect(try kubectl(["create", "serviceaccount", "robot"]).status == 0)
            #expect(try kubectl(["create", "rolebinding", "robot-view", "--clusterrole=view", "--serviceaccount=default:robot"]).status == 0)
            let token = try kubectl(["create", "token", "robot"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let robot = kubectlTests.columns(try kubectl(["--token", token, "auth", "can-i", "--list"]).output)
            #expect(robot.contains { $0.first == "pods" && $0.last == "watch]" }, "\(robot)")
            #expect(!robot.contains { $0.first == "*.*" }, "\(robot)")

            // A token Secret, as older tutorials make them: filled by the token controller, good while it exists.
            let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: robot-token\n  annotations: {kubernetes.io/service-account.name: robot}\n"
                + "type: kubernetes.io/service-account-token\n"
            #expect(try kubectl(["apply", "-f", "-"], input: secret).status == 0)
            var encoded = ""
            #expect(eventually(10) {
                encoded = (try? kubectl(["get", "secret", "robot-token", "-o", "jsonpath={.data.token}"]))?.output ?? ""
                return !encoded.isEmpty
            })
            let legacy = String(decoding: Data(base64Encoded: encoded) ?? Data(), as: UTF8.self)
            let listed = try kubectl(["--token", legacy, "get", "pods", "-o", "name"])
            #expect(listed.status == 0 && listed.output.contains("pod/"), "\(listed.output)")
            #expect(try kubectl(["delete", "secret", "robot-token"]).status == 0)
            #expect(try kubectl(["--token", legacy, "get", "pods"]).output.contains("Unauthorized"))

            let python = try sh(["\(KubectlTests.venv)/python", "-c", Self.pythonChecks(context: Kubeconfig.contextName(cluster: name), token: token)])
            #expect(python.output == """
                Pending Guaranteed
                {'ingress': None}
                3 0 1
                True system:serviceaccount:default:robot
                False
                True False
                {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"nope\\" not found","reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}
                hello in a text frame

                """, "\(python.output)")
        }
    }

    /// The Python client's calls, each printing one line.
    static func pythonChecks(context: String, token: String) -> String {
        """
        import time
        from kubernetes import client, config
        from kubernetes.client.rest import ApiException
        from kubernetes.stream import stream
        config.load_kube_config(context="\(context)")
        v1 = client.CoreV1Api()
        pod = v1.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "catter"}, "spec": {"containers": [
            {"name": "c", "image": "busybox", "command": ["sleep", "3600"], "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]}})
        print(pod.status.phase, pod.status.qos_class)
        svc = v1.create_namespaced_service("default", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "plain"},
                                                      "spec": {"ports": [{"port": 80}]}})
        print(svc.status.load_balancer.to_dict())
        for i in range(3):
            v1.create_namespaced_config_map("default", {"metadata": {"name": "batch-%d" % i, "labels": {"batch": "x"}}})
        v1.create_namespaced_config_map("default", {"metadata": {"name": "kept", "labels": {"batch": "y"}}})
        before = len(v1.list_namespaced_config_map("default", label_selector="batch=x").items)
        v1.delete_collection_namespaced_config_map("default", label_selector="batch=x")
        after = len(v1.list_namespaced_config_map("default", label_selector="batch=x").items)
        print(before, after, len(v1.list_namespaced_config_map("default", label_selector="batch=y").items))
        review = client.AuthenticationV1Api().create_token_review({"spec": {"token": "\(token)"}})
        print(review.status.authenticated, review.status.user.username)
        print(client.AuthenticationV1Api().create_token_review({"spec": {"token": "not-a-token"}}).status.authenticated)
        authz = client.AuthorizationV1Api()
        def can(verb, resource):
            spec = {"user": "system:serviceaccount:default:robot", "resourceAttributes": {"namespace": "default", "verb": verb, "resource": resource}}
            return authz.create_subject_access_review({"spec": spec}).status.allowed
        print(can("list", "pods"), can("get", "secrets"))
        try:
            v1.read_namespaced_pod("nope", "default")
        except ApiException as error:
            body = error.body.decode() if isinstance(error.body, bytes) else error.body
            print(body, end="")
        for _ in range(300):
            if v1.read_namespaced_pod("catter", "default").status.phase == "Running":
                break
            time.sleep(0.2)
        session = stream(v1.connect_get_namespaced_pod_exec, "catter", "default", command=["cat"], stdin=True, stdout=True,
                         stderr=True, tty=False, _preload_content=False)
        session.write_stdin("hello in a text frame\\n")
        out = ""
        for _ in range(50):
            session.update(timeout=0.2)
            if session.peek_stdout():
                out += session.read_stdout()
            if "\\n" in out:
                break
        session.close()
        print(out, end="")
        """
    }
}
