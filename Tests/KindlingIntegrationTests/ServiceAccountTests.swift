import Foundation
import KindlingAPI
import Testing

/// ServiceAccounts with real kubectl and the API from inside a pod: the `default` account, tokens made by
/// `kubectl create token`, allowed what RBAC bindings grant and refused once their account is gone, and a pod
/// that reaches the API through the
/// `kubernetes` Service with its mounted token, by curl and by the official Python client's in-cluster config.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct ServiceAccountTests {
    let kubectlTests = KubectlTests()
    var cli: CLITests { kubectlTests.cli }

    static let mount = "/var/run/secrets/kubernetes.io/serviceaccount"

    @Test func tokensAndTheAPIFromInsideAPod() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("sa", yaml: APIStressTests.oneNode) { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            var accounts = kubectlTests.columns(try kubectl(["get", "sa"]).output)
            for _ in 0..<20 where accounts.last?.first != "default" {
                Thread.sleep(forTimeInterval: 0.2)
                accounts = kubectlTests.columns(try kubectl(["get", "sa"]).output)
            }
            #expect(accounts.first == ["NAME", "SECRETS", "AGE"] && accounts.last?.prefix(2) == ["default", "0"], "\(accounts)")
            #expect(try kubectl(["get", "configmap", "kube-root-ca.crt", "-o", "jsonpath={.data.ca\\.crt}"]).output.hasPrefix("-----BEGIN CERTIFICATE-----"))
            let endpoints = try kubectl(["get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}"])
            #expect(endpoints.output.hasSuffix(":6443"), "\(endpoints.output)")

            let made = try kubectl(["create", "serviceaccount", "robot"])
            #expect(made.status == 0 && made.output == "serviceaccount/robot created\n", "\(made.output)")
            let token = try kubectl(["create", "token", "robot"])
            #expect(token.status == 0 && token.output.split(separator: ".").count == 3, "\(token.output)")
            let bearer = token.output.trimmingCharacters(in: .whitespacesAndNewlines)
            // RBAC: nothing but discovery and self-review until a binding grants more.
            let refused = try kubectl(["--token", bearer, "get", "pods"])
            #expect(refused.status != 0 && refused.output.contains(
                #"Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:robot" cannot list resource "pods" in API group "" in the namespace "default""#),
                    "\(refused.output)")
            #expect(try kubectl(["--token", bearer, "auth", "can-i", "list", "pods"]).output == "no\n")
            let whoami = kubectlTests.columns(try kubectl(["--token", bearer, "auth", "whoami"]).output)
            #expect(whoami.contains(["Username", "system:serviceaccount:default:robot"]), "\(whoami)")
            let bound = try kubectl(["create", "rolebinding", "robot-view", "--clusterrole=view", "--serviceaccount=default:robot"])
            #expect(bound.status == 0 && bound.output == "rolebinding.rbac.authorization.k8s.io/robot-view created\n", "\(bound.output)")
            #expect(try kubectl(["--token", bearer, "auth", "can-i", "list", "pods"]).output == "yes\n")
            #expect(try kubectl(["--token", bearer, "auth", "can-i", "get", "secrets"]).output == "no\n", "view reads no Secrets")
            let impersonated = try kubectl(["auth", "can-i", "list", "pods", "--as=system:serviceaccount:default:robot"])
            #expect(impersonated.output == "yes\n", "\(impersonated.output)")
            #expect(try kubectl(["get", "secrets", "--as=system:serviceaccount:default:robot"]).output.contains("cannot list resource \"secrets\""))
            let noAs = try kubectl(["--token", bearer, "get", "pods", "--as=jane"])
            #expect(noAs.output.contains(#"users "jane" is forbidden: User "system:serviceaccount:default:robot" cannot impersonate resource "users""#), "\(noAs.output)")
            let viewRules = try kubectl(["get", "clusterrole", "view", "-o", "jsonpath={.rules[*].resources}"]).output
            #expect(viewRules.contains("pods/log"), "view aggregates system:aggregate-to-view: \(viewRules)")
            let asRobot = try kubectl(["--token", bearer, "get", "sa", "robot", "-o", "name"])
            #expect(asRobot.status == 0 && asRobot.output == "serviceaccount/robot\n", "\(asRobot.output)")
            let roles = kubectlTests.columns(try kubectl(["get", "clusterroles"]).output).map { $0.first ?? "" }
            #expect(["admin", "cluster-admin", "edit", "view"].allSatisfy(roles.contains), "\(roles)")
            let short = try kubectl(["create", "token", "robot", "--duration=5m"])
            #expect(short.status != 0 && short.output.contains("may not specify a duration less than 10 minutes"), "\(short.output)")
            #expect(try kubectl(["delete", "sa", "robot"]).status == 0)
            let gone = try kubectl(["--token", bearer, "get", "sa"])
            #expect(gone.status != 0 && gone.output.contains("Unauthorized"), "a deleted account's token is refused: \(gone.output)")

            let orphan = try kubectl(["run", "orphan", "--image=busybox", "--restart=Never", "--overrides", #"{"spec":{"serviceAccountName":"nobody"}}"#,
                                      "--command", "--", "sleep", "1"])
            #expect(orphan.status != 0 && orphan.output.contains(#"error looking up service account default/nobody: serviceaccount "nobody" not found"#),
                    "\(orphan.output)")

            #expect(try kubectl(["create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=default:default"]).status == 0)
            let run = try kubectl(["run", "client", "--image=debian", "--restart=Never", "--command", "--", "sleep", "3600"])
            #expect(run.status == 0, "\(run.output)")
            let ready = try kubectl(["wait", "--for=condition=Ready", "pod/client", "--timeout=60s"])
            let described = ready.status == 0 ? "" : try kubectl(["describe", "pod", "client"]).output
            try #require(ready.status == 0, "\(ready.output) \(described)")
            let volume = try kubectl(["get", "pod", "client", "-o", "jsonpath={.spec.serviceAccountName} {.spec.volumes[0].name}"]).output
            #expect(volume.hasPrefix("default kube-api-access-"), "\(volume)")
            let files = try kubectl(["exec", "client", "--", "sh", "-c", "ls \(Self.mount); cat \(Self.mount)/namespace"])
            #expect(files.output == "ca.crt\nnamespace\ntoken\ndefault", "\(files.output)")
            let curl = try kubectl(["exec", "client", "--", "sh", "-c", """
                curl -sS --cacert \(Self.mount)/ca.crt -H "Authorization: Bearer $(cat \(Self.mount)/token)" \
                  https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/pods/client -o /dev/stdout -w ' %{http_code}'
                """])
            #expect(curl.status == 0 && curl.output.contains("\"name\": \"client\"") || curl.output.contains("\"name\":\"client\""), "\(curl.output)")
            #expect(curl.output.hasSuffix(" 200"), "\(curl.output)")
            let python = try kubectl(["exec", "client", "--", "\(KubectlTests.venv)/python3", "-c", """
                from kubernetes import client, config
                config.load_incluster_config()
                print(sorted(p.metadata.name for p in client.CoreV1Api().list_namespaced_pod("default").items))
                """])
            #expect(python.status == 0 && python.output == "['client']\n", "\(python.output)")
        }
    }
}
