import Foundation
import KindlingAddresses
import KindlingAPI
import Testing

/// NetworkPolicy as a truth table, the way upstream's cyclonus checks implementations: namespaces x, y, z with
/// pods a, b, c, each serving TCP and UDP on ports 80 and 81 (agnhost netexec, one container per port). For
/// each scenario, every pod probes every pod on every port and protocol from inside its own namespace, and the
/// 324 results are compared with the scenario's expected table, written down as a rule of its own. Scenarios
/// come from the Kubernetes documentation's examples and seed 004.
@Suite(.enabled(if: isRoot, "needs root: builds clusters"))
struct NetworkPolicyTests {
    let cli = CLITests()
    static let namespaces = ["x", "y", "z"]
    static let pods = ["a", "b", "c"]
    static let probes: [(port: Int, proto: String)] = [(80, "tcp"), (80, "udp"), (81, "tcp"), (81, "udp")]

    struct Probe: Hashable, CustomStringConvertible {
        let from: String, to: String, port: Int, proto: String
        var description: String { "\(from) -> \(to) \(port)/\(proto)" }
    }

    static func podManifest(namespace: String, pod: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: \(pod), namespace: "\(namespace)", labels: {pod: \(pod)}}
        spec:
          containers:
          - name: cont-80
            image: registry.k8s.io/e2e-test-images/agnhost:2.53
            args: [netexec, --http-port=80, --udp-port=80]
            ports: [{containerPort: 80, name: serve-80-tcp, protocol: TCP}, {containerPort: 80, name: serve-80-udp, protocol: UDP}]
          - name: cont-81
            image: registry.k8s.io/e2e-test-images/agnhost:2.53
            args: [netexec, --http-port=81, --udp-port=81]
            ports: [{containerPort: 81, name: serve-81-tcp, protocol: TCP}, {containerPort: 81, name: serve-81-udp, protocol: UDP}]
        """
    }

    /// Probes every target from inside one pod's network namespace, all at once, one second each.
    static let prober = """
        import json, socket, sys, threading
        targets = json.loads(sys.argv[1]); results = {}
        def probe(key, ip, port, proto):
            try:
                if proto == "tcp":
                    socket.create_connection((ip, port), timeout=1).close()
                else:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
                    s.sendto(b"hostname", (ip, port)); s.recvfrom(512); s.close()
                results[key] = True
            except OSError:
                results[key] = False
        threads = [threading.Thread(target=probe, args=t) for t in targets]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps(results))
        """

    /// The whole table: which probes got through.
    func matrix(_ cluster: String, ips: [String: String]) throws -> Set<Probe> {
        let prefix = ClusterNames(cluster: cluster).netnsPrefix
        var targets: [[Any]] = []
        for (name, ip) in ips.sorted(by: { $0.key < $1.key }) {
            for probe in Self.probes { targets.append(["\(name) \(probe.port) \(probe.proto)", ip, probe.port, probe.proto]) }
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: targets), as: UTF8.self)
        let outputs = ips.keys.sorted().map { from -> (String, Process, Pipe) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            let parts = from.split(separator: "/")
            process.arguments = ["netns", "exec", "\(prefix)pod.\(parts[0]).\(parts[1])", "python3", "-c", Self.prober, json]
            let pipe = Pipe()
            process.standardOutput = pipe
            return (from, process, pipe)
        }
        for (_, process, _) in outputs { try process.run() }
        var allowed: Set<Probe> = []
        for (from, process, pipe) in outputs {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let results = try JSONSerialization.jsonObject(with: data) as? [String: Bool] ?? [:]
            for (key, ok) in results where ok {
                let words = key.split(separator: " ")
                allowed.insert(Probe(from: from, to: String(words[0]), port: Int(words[1])!, proto: String(words[2])))
            }
        }
        return allowed
    }

    static var everyProbe: [Probe] {
        let names = namespaces.flatMap { ns in pods.map { "\(ns)/\($0)" } }
        return names.flatMap { from in names.flatMap { to in probes.map { Probe(from: from, to: to, port: $0.port, proto: $0.proto) } } }
    }

    struct Scenario {
        let name: String
        let policies: [String]
        let allows: (Probe) -> Bool
    }

    static func policy(_ name: String, _ spec: String, namespace: String = "x") -> String {
        // Quoted: YAML reads a bare y as true.
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: \(name), namespace: \"\(namespace)\"}\nspec:\n" + spec
    }

    func scenarios(ips: [String: String]) -> [Scenario] {
        let yb = ips["y/b"]!
        return [
            Scenario(name: "no policies", policies: []) { _ in true },
            Scenario(name: "deny all ingress in x", policies: [Self.policy("deny", "  podSelector: {}\n  policyTypes: [Ingress]\n")]) {
                !$0.to.hasPrefix("x/")
            },
            Scenario(name: "deny all, then allow all ingress in x (a union)", policies: [
                Self.policy("deny", "  podSelector: {}\n  policyTypes: [Ingress]\n"),
                Self.policy("allow", "  podSelector: {}\n  ingress: [{}]\n"),
            ]) { _ in true },
            Scenario(name: "deny all egress from x (replies of allowed connections pass)",
                     policies: [Self.policy("deny-egress", "  podSelector: {}\n  policyTypes: [Egress]\n")]) { !$0.from.hasPrefix("x/") },
            Scenario(name: "seed 004: x/a takes ingress from x/b only and sends nothing", policies: [Self.policy("my-network-policy", """
                  podSelector: {matchLabels: {pod: a}}
                  policyTypes: [Ingress, Egress]
                  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]

                """)]) { $0.from != "x/a" && ($0.to != "x/a" || $0.from == "x/b") },
            Scenario(name: "x/a from namespace y", policies: [Self.policy("from-y", """
                  podSelector: {matchLabels: {pod: a}}
                  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "y"}}}]}]

                """)]) { $0.to != "x/a" || $0.from.hasPrefix("y/") },
            Scenario(name: "x/a from pods b of namespace y (one peer, both selectors)", policies: [Self.policy("from-y-b", """
                  podSelector: {matchLabels: {pod: a}}
                  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "y"}}, podSelector: {matchLabels: {pod: b}}}]}]

                """)]) { $0.to != "x/a" || $0.from == "y/b" },
            Scenario(name: "x/a from namespace y or from x/b (two peers)", policies: [Self.policy("from-y-or-b", """
                  podSelector: {matchLabels: {pod: a}}
                  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "y"}}}, {podSelector: {matchLabels: {pod: b}}}]}]

                """)]) { $0.to != "x/a" || $0.from.hasPrefix("y/") || $0.from == "x/b" },
            Scenario(name: "x/a on 80/TCP only", policies: [Self.policy("tcp-80", """
                  podSelector: {matchLabels: {pod: a}}
                  ingress: [{ports: [{port: 80}]}]

                """)]) { $0.to != "x/a" || ($0.port == 80 && $0.proto == "tcp") },
            Scenario(name: "x/a on the named port serve-81-udp", policies: [Self.policy("named", """
                  podSelector: {matchLabels: {pod: a}}
                  ingress: [{ports: [{port: serve-81-udp, protocol: UDP}]}]

                """)]) { $0.to != "x/a" || ($0.port == 81 && $0.proto == "udp") },
            Scenario(name: "x/a on TCP 80 to 81 (endPort)", policies: [Self.policy("range", """
                  podSelector: {matchLabels: {pod: a}}
                  ingress: [{ports: [{port: 80, endPort: 81, protocol: TCP}]}]

                """)]) { $0.to != "x/a" || $0.proto == "tcp" },
            Scenario(name: "x/a from the pod network except y/b (ipBlock)", policies: [Self.policy("block", """
                  podSelector: {matchLabels: {pod: a}}
                  ingress: [{from: [{ipBlock: {cidr: 10.244.0.0/16, except: [\(yb)/32]}}]}]

                """)]) { $0.to != "x/a" || $0.from != "y/b" },
            Scenario(name: "x/a sends to namespace y on 80/TCP only", policies: [Self.policy("egress-y", """
                  podSelector: {matchLabels: {pod: a}}
                  policyTypes: [Egress]
                  egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "y"}}}], ports: [{port: 80, protocol: TCP}]}]

                """)]) { $0.from != "x/a" || ($0.to.hasPrefix("y/") && $0.port == 80 && $0.proto == "tcp") },
            Scenario(name: "x/a sends to any pod's serve-81-tcp (named port, egress)", policies: [Self.policy("egress-named", """
                  podSelector: {matchLabels: {pod: a}}
                  policyTypes: [Egress]
                  egress: [{ports: [{port: serve-81-tcp}]}]

                """)]) { $0.from != "x/a" || ($0.port == 81 && $0.proto == "tcp") },
            Scenario(name: "two policies on x/a: from x/b, and from y/c", policies: [
                Self.policy("from-b", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]\n"),
                Self.policy("from-y-c", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: \"y\"}}, podSelector: {matchLabels: {pod: c}}}]}]\n"),
            ]) { $0.to != "x/a" || $0.from == "x/b" || $0.from == "y/c" },
            Scenario(name: "namespace y isolated: ingress only from within y", policies: [
                Self.policy("within", "  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]\n", namespace: "y"),
            ]) { !$0.to.hasPrefix("y/") || $0.from.hasPrefix("y/") },
        ]
    }

    func kubectl(_ cluster: String, _ arguments: [String], input: String? = nil) throws -> CommandResult {
        try sh(["\(KubectlTests.venv)/kubectl", "--context", Kubeconfig.contextName(cluster: cluster)] + arguments, input: input)
    }

    @Test func policiesMatchTheirTruthTables() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "\(KubectlTests.venv)/kubectl"), "no kubectl: run scripts/install-deps.sh")
        try cli.withCluster("netpol") { name in
            for namespace in Self.namespaces {
                #expect(try kubectl(name, ["create", "namespace", namespace]).status == 0)
                for pod in Self.pods { #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.podManifest(namespace: namespace, pod: pod)).status == 0) }
            }
            var ips: [String: String] = [:]
            #expect(eventually(60) {
                for namespace in Self.namespaces {
                    let rows = (try? kubectl(name, ["get", "pods", "-n", namespace, "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"]))?.output ?? ""
                    for row in rows.split(separator: "\n") {
                        let words = row.split(separator: " ")
                        if words.count == 3, words[2] == "True" { ips["\(namespace)/\(words[0])"] = String(words[1]) }
                    }
                }
                return ips.count == 9
            })
            try #require(ips.count == 9, "pods not ready: \(ips)")
            for scenario in scenarios(ips: ips) {
                for policy in scenario.policies { #expect(try kubectl(name, ["apply", "-f", "-"], input: policy).status == 0, "\(scenario.name)") }
                // A pod always reaches itself (loopback never leaves it), as upstream's e2e tables allow.
                let expected = Set(Self.everyProbe.filter { $0.from == $0.to || scenario.allows($0) })
                // Agents apply a changed policy within a second; the first table is read after that.
                var got: Set<Probe> = []
                for attempt in 0..<4 {
                    usleep(attempt == 0 ? 1_000_000 : 500_000)
                    got = try matrix(name, ips: ips)
                    if got == expected { break }
                }
                let wronglyAllowed = got.subtracting(expected).map(\.description).sorted()
                let wronglyDenied = expected.subtracting(got).map(\.description).sorted()
                #expect(got == expected, "\(scenario.name): allowed but should not be: \(wronglyAllowed.prefix(12)); denied but should not be: \(wronglyDenied.prefix(12))")
                for namespace in Self.namespaces { _ = try kubectl(name, ["delete", "networkpolicy", "--all", "-n", namespace]) }
            }
            // A new policy holds for new connections within a second of its creation.
            let prefix = ClusterNames(cluster: name).netnsPrefix
            let connect = "import socket,sys\ntry:\n socket.create_connection(('\(ips["x/a"]!)', 80), timeout=0.2).close()\nexcept OSError: sys.exit(1)"
            #expect(try sh(["ip", "netns", "exec", "\(prefix)pod.y.b", "python3", "-c", connect]).status == 0)
            #expect(try kubectl(name, ["apply", "-f", "-"], input: Self.policy("deny", "  podSelector: {}\n  policyTypes: [Ingress]\n")).status == 0)
            let created = Date()
            var held: TimeInterval?
            while Date().timeIntervalSince(created) < 5 {
                if try sh(["ip", "netns", "exec", "\(prefix)pod.y.b", "python3", "-c", connect]).status != 0 {
                    held = Date().timeIntervalSince(created)
                    break
                }
            }
            #expect(held.map { $0 < 1 } == true, "the policy held after \(held.map { "\($0) s" } ?? "more than 5 s")")
            // Through a service's cluster IP the policy judges the pod the VIP leads to (after DNAT).
            #expect(try kubectl(name, ["expose", "pod", "a", "-n", "x", "--port=80", "--name=xa"]).status == 0)
            let vip = try kubectl(name, ["get", "svc", "xa", "-n", "x", "-o", "jsonpath={.spec.clusterIP}"]).output
            let viaVIP = connect.replacingOccurrences(of: "'\(ips["x/a"]!)'", with: "'\(vip)'").replacingOccurrences(of: "timeout=0.2", with: "timeout=1")
            #expect(try sh(["ip", "netns", "exec", "\(prefix)pod.y.b", "python3", "-c", viaVIP]).status != 0)
            #expect(try kubectl(name, ["delete", "networkpolicy", "deny", "-n", "x"]).status == 0)
            #expect(eventually(5) { (try? sh(["ip", "netns", "exec", "\(prefix)pod.y.b", "python3", "-c", viaVIP]))?.status == 0 })
        }
    }
}
