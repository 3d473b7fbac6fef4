import Foundation
import KindlingAPI
import Testing

/// The StatefulSet tutorial of the Kubernetes documentation, as written, with real kubectl: the headless `nginx`
/// Service and the `web` StatefulSet with a claim template on the default class `standard`; ordered start,
/// `web-N.nginx` resolving from a pod, data on a claim surviving the pod's deletion, scaling up and down with the
/// claims kept.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct StatefulSetKubectlTests {
    let kubectlTests = KubectlTests()
    var cli: CLITests { kubectlTests.cli }

    static let web = """
        apiVersion: v1
        kind: Service
        metadata:
          name: nginx
          labels:
            app: nginx
        spec:
          ports:
          - port: 80
            name: web
          clusterIP: None
          selector:
            app: nginx
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: web
        spec:
          serviceName: "nginx"
          replicas: 2
          selector:
            matchLabels:
              app: nginx
          template:
            metadata:
              labels:
                app: nginx
            spec:
              containers:
              - name: nginx
                image: registry.k8s.io/nginx-slim:0.21
                ports:
                - containerPort: 80
                  name: web
                volumeMounts:
                - name: www
                  mountPath: /usr/share/nginx/html
          volumeClaimTemplates:
          - metadata:
              name: www
            spec:
              accessModes: [ "ReadWriteOnce" ]
              resources:
                requests:
                  storage: 1Gi
        """

    @Test func theStatefulSetTutorialAsWritten() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("sts") { name in
            func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult { try kubectlTests.kubectl(name, arguments, input: input) }
            let classes = kubectlTests.columns(try kubectl(["get", "storageclass"]).output)
            #expect(classes.last?.prefix(5) == ["standard", "(default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer"], "\(classes)")
            let applied = try kubectl(["apply", "-f", "-"], input: Self.web)
            #expect(applied.status == 0 && applied.output == "service/nginx created\nstatefulset.apps/web created\n", "\(applied.output)")
            let rolled = try kubectl(["rollout", "status", "sts/web", "--timeout=90s"])
            let state = rolled.status == 0 ? "" : try kubectl(["get", "pods,pvc,pv", "-o", "wide"]).output
            #expect(rolled.status == 0, "\(rolled.output) \(state)")
            // Ordered: web-1 was made only once web-0 was Running and Ready.
            let created = try kubectl(["get", "pods", "-l", "app=nginx", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].lastTransitionTime} {.metadata.creationTimestamp}{\"\\n\"}{end}"]).output
            let rows = created.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(rows.count == 2 && rows[0][0] == "web-0" && rows[0][1] <= rows[1][2], "web-0 ready before web-1 was made: \(created)")
            let claims = kubectlTests.columns(try kubectl(["get", "pvc"]).output)
            #expect(claims.dropFirst().map { Array($0.prefix(2)) + [$0[3], $0[4], $0[5]] } == [["www-web-0", "Bound", "1Gi", "RWO", "standard"],
                                                                                             ["www-web-1", "Bound", "1Gi", "RWO", "standard"]], "\(claims)")
            for pod in ["web-0", "web-1"] {
                #expect(try kubectl(["exec", pod, "--", "sh", "-c", "echo \"$(hostname)\" > /usr/share/nginx/html/index.html"]).status == 0)
            }
            var answer = ""
            #expect(try eventually(20) {
                answer = try kubectl(["exec", "web-0", "--", "curl", "-s", "http://web-1.nginx"]).output
                return answer == "web-1\n"
            }, "web-1.nginx from web-0: \(answer)")
            let resolved = try kubectl(["exec", "web-1", "--", "getent", "hosts", "web-0.nginx.default.svc.cluster.local"]).output
            let web0IP = try kubectl(["get", "pod", "web-0", "-o", "jsonpath={.status.podIP}"]).output
            #expect(resolved.hasPrefix(web0IP + " "), "\(resolved) vs \(web0IP)")

            // The claim outlives its pod: web-0 comes back with the same name and the same page.
            #expect(try kubectl(["delete", "pod", "web-0"]).status == 0)
            #expect(try eventually(60) { try kubectl(["get", "pod", "web-0", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"]).output == "True" })
            #expect(try eventually(20) {
                answer = try kubectl(["exec", "web-1", "--", "curl", "-s", "http://web-0.nginx"]).output
                return answer == "web-0\n"
            }, "web-0's page after it was deleted: \(answer)")

            // Scaling up makes web-2 and its claim; scaling down removes pods from the highest ordinal and keeps claims.
            #expect(try kubectl(["scale", "sts", "web", "--replicas=3"]).output == "statefulset.apps/web scaled\n")
            #expect(try kubectl(["rollout", "status", "sts/web", "--timeout=90s"]).status == 0)
            #expect(try kubectl(["scale", "sts", "web", "--replicas=1"]).status == 0)
            #expect(try eventually(60) { try kubectl(["get", "pods", "-l", "app=nginx", "-o", "name"]).output == "pod/web-0\n" })
            let listed = kubectlTests.columns(try kubectl(["get", "sts"]).output)
            #expect(listed.first == ["NAME", "READY", "AGE"] && listed.last?.prefix(2) == ["web", "1/1"], "\(listed)")
            #expect(try kubectl(["get", "pvc", "-o", "name"]).output.split(separator: "\n").count == 3, "claims are kept on scale down")
        }
    }
}
