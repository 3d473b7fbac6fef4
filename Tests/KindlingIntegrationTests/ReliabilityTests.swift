import Foundation
import KindlingAPI
import KindlingCluster
import Testing

/// Faults a cluster must survive the way Kubernetes does (the reliability issue).
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct ReliabilityTests {
    let cli = CLITests()
    let podTests = PodTests()
    let services = ServiceProxyTests()

    /// Every agent killed with SIGKILL while a pod sends a steady stream of requests to a ClusterIP service
    /// with endpoints on every node: the supervisor restarts them, they re-adopt their pods, re-sync routes and
    /// rules in place (one transaction, never an empty table), and not one request fails.
    @Test func killedAgentsLoseNoRequest() throws {
        try cli.withCluster("agentkill") { name in
            try services.apply(name, PodTests.seed002 + "\n---\n" + ServiceProxyTests.curlPod + """

                ---
                apiVersion: v1
                kind: Service
                metadata: {name: nginx-service, namespace: dev}
                spec:
                  selector: {app: nginx}
                  ports: [{name: http, port: 80, targetPort: 80}]
                """)
            #expect(podTests.allReady(name, namespace: "dev", count: 7))
            let before = try podTests.pods(name, namespace: "dev")
            let vip = try services.clusterIP(name, "nginx-service")
            #expect(eventually(10) { (try? services.exec(name, pod: "curl-pod", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "http://\(vip)"]))?.output == "200" })

            // 150 requests, 20 ms apart, each allowed 2 s: about 4 s of traffic around the kills.
            let count = 150
            let client = Process()
            client.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            client.arguments = ["netns", "exec", ClusterNames(cluster: name).netnsPrefix + "pod.dev.curl-pod", "sh", "-c",
                                "for i in $(seq \(count)); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 2 http://\(vip)/; sleep 0.02; done"]
            let output = Pipe()
            client.standardOutput = output
            try client.run()
            defer { if client.isRunning { kill(client.processIdentifier, SIGKILL) } }

            usleep(800_000)
            let processes = ClusterProcesses(cluster: name)
            let agents = processes.pids().filter { pid in
                (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains("\0agent\0") == true
            }
            #expect(agents.count == 3)
            for agent in agents { kill(agent, SIGKILL) }

            let answers = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            client.waitUntilExit()
            #expect(answers.count == count && answers.allSatisfy { $0 == "200" },
                    "\(answers.filter { $0 != "200" }.count) of \(answers.count) requests failed: \(Set(answers))")

            // New agents, and the pods they found were adopted, not restarted.
            #expect(eventually(10) {
                let now = processes.pids()
                return now.count == 5 && agents.allSatisfy { !now.contains($0) }
            })
            #expect(podTests.allReady(name, namespace: "dev", count: 7))
            let after = try podTests.pods(name, namespace: "dev")
            #expect(Set(after.map(\.uid)) == Set(before.map(\.uid)) && after.allSatisfy { $0.restarts == 0 })
        }
    }
}
