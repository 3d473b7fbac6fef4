import Foundation
import KindlingAPI
import KindlingCluster
import Synchronization
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

extension ReliabilityTests {
    /// The server SIGKILLed in the middle of a burst of applies, while a pod keeps sending requests to a
    /// ClusterIP service: every apply that was acknowledged is there after the supervisor restarts it, the
    /// datapath never stops, and the agents carry on from their watches (a service created after the restart
    /// is programmed on every node).
    @Test func killedServerLosesNoAcknowledgedWriteAndTrafficFlows() throws {
        try cli.withCluster("serverkill") { name in
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
            let vip = try services.clusterIP(name, "nginx-service")
            #expect(eventually(10) { (try? services.exec(name, pod: "curl-pod", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "http://\(vip)"]))?.output == "200" })

            let count = 150
            let client = Process()
            client.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            client.arguments = ["netns", "exec", ClusterNames(cluster: name).netnsPrefix + "pod.dev.curl-pod", "sh", "-c",
                                "for i in $(seq \(count)); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 2 http://\(vip)/; sleep 0.02; done"]
            let output = Pipe()
            client.standardOutput = output
            try client.run()
            defer { if client.isRunning { kill(client.processIdentifier, SIGKILL) } }

            // Applies one after another; the server dies somewhere in the middle of them.
            let processes = ClusterProcesses(cluster: name)
            let server = try #require(processes.pids().first { pid in
                (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains("\0server\0") == true
            })
            let killedAt = Mutex<Date?>(nil)
            let killer = Thread {
                usleep(400_000)
                kill(server, SIGKILL)
                killedAt.withLock { $0 = Date() }
            }
            let burstStarted = Date()
            killer.start()
            var acknowledged: [String] = []
            for index in 0..<40 {
                let map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: burst-\(index), namespace: dev}\ndata: {index: \"\(index)\"}\n"
                if (try? cli.kindling(["apply", "--name", name, "-f", "-"], input: map))?.status == 0 { acknowledged.append("burst-\(index)") }
            }
            let burstEnded = Date()
            #expect(!processes.pids().contains(server))
            let killed = try #require(killedAt.withLock { $0 })
            #expect(burstStarted < killed && killed < burstEnded, "the server was killed outside the burst")

            let answers = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            client.waitUntilExit()
            #expect(answers.count == count && answers.allSatisfy { $0 == "200" },
                    "\(answers.filter { $0 != "200" }.count) of \(answers.count) requests failed: \(Set(answers))")

            // Back: every acknowledged write is there.
            var stored: Set<String> = []
            #expect(eventually(15) {
                let listing = (try? cli.kindling(["get", "--name", name, "-n", "dev", "configmaps", "-o", "name"]))?.output ?? ""
                stored = Set(listing.split(separator: "\n").map { String($0.split(separator: "/").last ?? "") })
                return Set(acknowledged).isSubset(of: stored)
            }, "lost: \(Set(acknowledged).subtracting(stored).sorted())")
            // The agents' watches carry on: a service made now is programmed on every node.
            try services.apply(name, "apiVersion: v1\nkind: Service\nmetadata: {name: after, namespace: dev}\nspec:\n  selector: {app: nginx}\n  ports: [{port: 8080, targetPort: 80}]\n")
            let after = try services.clusterIP(name, "after")
            #expect(eventually(15) {
                (try? services.exec(name, pod: "curl-pod", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "http://\(after):8080"]))?.output == "200"
            })
        }
    }
}
