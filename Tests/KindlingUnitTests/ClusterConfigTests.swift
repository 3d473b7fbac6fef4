import KindlingAPI
import Testing

@Suite struct ClusterConfigTests {
    /// Seed 002's kind config: one control plane and two workers.
    static let seed002 = """
        kind: Cluster
        apiVersion: kind.x-k8s.io/v1alpha4
        nodes:
        - role: control-plane
        - role: worker
        - role: worker
        """

    @Test func emptyConfigIsKindsDefault() throws {
        let config = try ClusterConfig.parse(yaml: "")
        #expect(config.name == "kindling")
        #expect(config.nodes == [ClusterConfig.Node(role: .controlPlane)])
        #expect(config.podSubnet.description == "10.244.0.0/16")
        #expect(config.serviceSubnet.description == "10.96.0.0/16")
        #expect(config.kubeProxyMode == .nftables)
        #expect(config.warnings.isEmpty)
    }

    @Test func seed002ConfigGivesKindsNodeNames() throws {
        let config = try ClusterConfig.parse(yaml: Self.seed002)
        #expect(config.nodes.map(\.role) == [.controlPlane, .worker, .worker])
        #expect(config.nodeNames == ["kindling-control-plane", "kindling-worker", "kindling-worker2"])
    }

    @Test func flagNameWinsOverFileName() throws {
        let yaml = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: fromfile\n"
        #expect(try ClusterConfig.parse(yaml: yaml).name == "fromfile")
        #expect(try ClusterConfig.parse(yaml: yaml, name: "dev").name == "dev")
        let ha = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: control-plane\n- role: worker\n"
        #expect(try ClusterConfig.parse(yaml: ha, name: "x").nodeNames == ["x-control-plane", "x-control-plane2", "x-worker"])
    }

    @Test func networkingAndLabelsAreRead() throws {
        let config = try ClusterConfig.parse(yaml: """
            kind: Cluster
            apiVersion: kind.x-k8s.io/v1alpha4
            nodes:
            - role: control-plane
              labels:
                tier: frontend
                example.com/zone: a
            networking:
              ipFamily: ipv4
              podSubnet: 10.200.0.0/16
              serviceSubnet: 10.100.0.0/16
              kubeProxyMode: iptables
              apiServerAddress: 127.0.0.1
              apiServerPort: 6443
              disableDefaultCNI: false
            """)
        #expect(config.nodes[0].labels == ["tier": "frontend", "example.com/zone": "a"])
        #expect(config.podSubnet.description == "10.200.0.0/16")
        #expect(config.serviceSubnet.description == "10.100.0.0/16")
        #expect(config.kubeProxyMode == .iptables)
        #expect(config.apiServerPort == 6443)
    }

    @Test func knownButUnusedFieldsAreWarnedAboutByName() throws {
        let config = try ClusterConfig.parse(yaml: """
            kind: Cluster
            apiVersion: kind.x-k8s.io/v1alpha4
            featureGates: {"SomeGate": true}
            nodes:
            - role: control-plane
              image: kindest/node:v1.30.0
            """)
        #expect(config.warnings.count == 2)
        #expect(config.warnings.contains { $0.hasPrefix("featureGates: ignored") })
        #expect(config.warnings.contains { $0.hasPrefix("nodes[0].image: ignored") })
    }

    /// Every error is reported at once, with its field, in the apiserver's wording.
    @Test func badConfigNamesEveryField() throws {
        let error = try #require(throws: InvalidObjectError.self) {
            try ClusterConfig.parse(yaml: """
                kind: Cluster
                apiVersion: kind.x-k8s.io/v1alpha3
                nodes:
                - role: master
                - role: worker
                  extraPortMappings: [{containerPort: 80, hostPort: 80}]
                  size: big
                networking:
                  kubeProxyMode: ipvs
                  podSubnet: 10.244.0.1/16
                  ipFamily: dual
                bogus: 1
                """)
        }
        let message = error.description
        #expect(message.hasPrefix("Cluster.kind.x-k8s.io \"kindling\" is invalid: ["))
        for expected in [
            "apiVersion: Unsupported value: \"kind.x-k8s.io/v1alpha3\": supported values: \"kind.x-k8s.io/v1alpha4\"",
            "nodes[0].role: Unsupported value: \"master\": supported values: \"control-plane\", \"worker\"",
            "nodes[1].extraPortMappings: Forbidden:",
            "unknown field \"nodes[1].size\"",
            "networking.kubeProxyMode: Forbidden: this kernel has no IPVS",
            "networking.podSubnet: Invalid value: \"10.244.0.1/16\"",
            "networking.ipFamily: Forbidden: kindling builds IPv4 clusters only",
            "unknown field \"bogus\"",
        ] {
            #expect(message.contains(expected), "missing: \(expected)\nin: \(message)")
        }
    }

    @Test func missingKindAndApiVersionAreRequired() throws {
        let error = try #require(throws: InvalidObjectError.self) { try ClusterConfig.parse(yaml: "nodes:\n- role: worker\n") }
        #expect(error.errors.map(\.field).sorted() == ["apiVersion", "kind", "nodes"])
        #expect(error.description.contains("nodes: Required value: at least one node must have role \"control-plane\""))
    }

    @Test func addressPlanMustFit() throws {
        let header = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
        let overlap = try #require(throws: InvalidObjectError.self) {
            try ClusterConfig.parse(yaml: header + "networking:\n  podSubnet: 10.0.0.0/8\n  serviceSubnet: 10.96.0.0/16\n")
        }
        #expect(overlap.description.contains("must not overlap networking.podSubnet"))
        let underlay = try #require(throws: InvalidObjectError.self) {
            try ClusterConfig.parse(yaml: header + "networking:\n  podSubnet: 172.18.0.0/16\n")
        }
        #expect(underlay.description.contains("must not overlap the node network 172.18.0.0/16"))
        let tooSmall = try #require(throws: InvalidObjectError.self) {
            try ClusterConfig.parse(yaml: header + "nodes:\n- role: control-plane\n- role: worker\n- role: worker\nnetworking:\n  podSubnet: 10.244.0.0/23\n")
        }
        #expect(tooSmall.description.contains("too small for 3 nodes"))
        let v6 = try #require(throws: InvalidObjectError.self) {
            try ClusterConfig.parse(yaml: header + "networking:\n  podSubnet: fd00:10:244::/56\n")
        }
        #expect(v6.description.contains("networking.podSubnet: Forbidden: kindling builds IPv4 clusters only"))
    }

    @Test func badNamesAndLabelsAreRejected() throws {
        let name = try #require(throws: InvalidObjectError.self) { try ClusterConfig.parse(yaml: "", name: "Bad_Name") }
        #expect(name.description.contains("--name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label"))
        let labels = try #require(throws: InvalidObjectError.self) {
            try ClusterConfig.parse(yaml: "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n  labels:\n    \"-bad\": \"x\"\n    ok: \"not ok!\"\n")
        }
        #expect(labels.errors.map(\.field) == ["nodes[0].labels", "nodes[0].labels.ok"])
    }

    @Test func notYAMLIsASyntaxError() {
        #expect(throws: ConfigSyntaxError.self) { try ClusterConfig.parse(yaml: "kind: [unclosed") }
        #expect(throws: InvalidObjectError.self) { try ClusterConfig.parse(yaml: "- just\n- a list\n") }
    }
}
