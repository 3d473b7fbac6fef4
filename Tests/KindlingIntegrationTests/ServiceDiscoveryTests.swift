import Foundation
import KindlingAPI
import Testing

/// Finding services from inside pods: seed 001's environment-variable steps, with `kindling` for `kubectl`.
@Suite(.enabled(if: isRoot, "needs root: creates network namespaces"))
struct ServiceDiscoveryTests {
    let cli = CLITests()
    let podTests = PodTests()

    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: my-nginx}
        spec:
          selector: {matchLabels: {run: my-nginx}}
          replicas: 2
          template:
            metadata: {labels: {run: my-nginx}}
            spec:
              containers:
              - {name: my-nginx, image: nginx, ports: [{containerPort: 80}]}
        """

    /// `kubectl exec POD -- printenv | grep SERVICE`, sorted.
    func serviceVariables(_ cluster: String, _ pod: String) throws -> [String] {
        let output = try cli.kindling(["exec", "--name", cluster, pod, "--", "printenv"]).output
        return output.split(separator: "\n").map(String.init).filter { $0.contains("SERVICE") }.sorted()
    }

    @Test func seed001PodsStartedBeforeTheServiceLackItsVariablesUntilRecreated() throws {
        try cli.withCluster("env") { name in
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: Self.deployment).status == 0)
            #expect(podTests.allReady(name, count: 2, selector: "run=my-nginx"))
            let before = try podTests.pods(name, selector: "run=my-nginx")
            #expect(try serviceVariables(name, before[0].name) == [
                "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443",
            ])

            // `kubectl expose deployment/my-nginx`, as the seed's manifest.
            let service = "apiVersion: v1\nkind: Service\nmetadata: {name: my-nginx, labels: {run: my-nginx}}\nspec:\n  ports: [{port: 80, protocol: TCP}]\n  selector: {run: my-nginx}\n"
            #expect(try cli.kindling(["apply", "--name", name, "-f", "-"], input: service).status == 0)
            let clusterIP = try #require((try JSONSerialization.jsonObject(with: Data(try cli.kindling(
                ["get", "svc", "my-nginx", "--name", name, "-o", "json"]).output.utf8)) as? [String: Any])
                .flatMap { ($0["spec"] as? [String: Any])?["clusterIP"] as? String })
            // The running pods keep the environment they started with.
            #expect(try serviceVariables(name, before[0].name).count == 3)

            #expect(try cli.kindling(["scale", "--name", name, "deployment", "my-nginx", "--replicas=0"]).status == 0)
            #expect(eventually(20) { ((try? podTests.pods(name, selector: "run=my-nginx")) ?? [before[0]]).isEmpty })
            #expect(try cli.kindling(["scale", "--name", name, "deployment", "my-nginx", "--replicas=2"]).status == 0)
            #expect(podTests.allReady(name, count: 2, selector: "run=my-nginx"))
            let after = try podTests.pods(name, selector: "run=my-nginx")
            #expect(Set(after.map(\.name)).isDisjoint(with: before.map(\.name)))
            #expect(try serviceVariables(name, after[0].name) == [
                "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443",
                "MY_NGINX_SERVICE_HOST=\(clusterIP)", "MY_NGINX_SERVICE_PORT=80",
            ])
            let link = try cli.kindling(["exec", "--name", name, after[0].name, "--", "printenv", "MY_NGINX_PORT_80_TCP_ADDR"]).output
            #expect(link == "\(clusterIP)\n")
        }
    }
}
