// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "kindling",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kindling", targets: ["kindling"]),
        .executable(name: "kindling-bench", targets: ["kindling-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Linux calls Swift's Glibc module hides behind _GNU_SOURCE (setns, unshare, gettid, mount).
        .target(name: "CLinuxShim"),
        // libnl-3 / libnl-route-3: links, addresses and routes over rtnetlink.
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]
        ),
        // libnftables (rulesets as text, one transaction each) and libmnl (raw nfnetlink).
        .systemLibrary(
            name: "CNftables",
            pkgConfig: "libnftables",
            providers: [.apt(["libnftables-dev", "libmnl-dev"])]
        ),
        // Raw nfnetlink batches (libmnl) for the proxy's small changes.
        .target(name: "CNftBatch", linkerSettings: [.linkedLibrary("mnl")]),
        // Addresses and names: IPv4 arithmetic, pod CIDR allocation, the names of everything a cluster creates. Pure,
        // and all the kernel layer needs of the API's values.
        .target(name: "KindlingAddresses"),
        // The resource types with their per-kind rules and the kind table, kind's config, kubeconfig. Pure.
        .target(name: "KindlingAPI", dependencies: ["KindlingAddresses", .product(name: "Yams", package: "Yams")]),
        // API machinery over JSON trees: patch (merge, strategic, JSON), server-side apply's managed fields,
        // protobuf bodies, list paging, field validation. Pure.
        .target(name: "KindlingMachinery", dependencies: ["KindlingAPI"]),
        // What kubectl prints: one printer per kind (columns for `get` and the server's Tables), describe. Pure.
        .target(name: "KindlingPrinters", dependencies: ["KindlingAPI"]),
        // Versioned object store with watch, on SQLite.
        .target(name: "KindlingStore", dependencies: ["KindlingAPI", .product(name: "GRDB", package: "GRDB.swift")]),
        // The API server: Kubernetes REST paths over a unix socket, and the controllers.
        .target(name: "KindlingServer", dependencies: [
            "KindlingAPI", "KindlingAddresses", "KindlingMachinery", "KindlingPrinters", "KindlingStore", "KindlingNet", "KindlingProcess", "KindlingReconcile",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // The one reconcile loop: sources' caches and changed keys in, coalesced syncs with retry and repair out.
        .target(name: "KindlingReconcile", dependencies: ["KindlingAPI", .product(name: "Logging", package: "swift-log")]),
        // Typed client with list+watch, for agents and the CLI.
        .target(name: "KindlingClient", dependencies: [
            "KindlingAPI", "KindlingReconcile",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // Thin layer over the kernel's networking: namespaces, links, addresses, routes (rtnetlink), sysctls.
        .target(name: "KindlingNet", dependencies: ["CLinuxShim", "CNetlink", "KindlingAddresses"]),
        // Processes, terminals and unix sockets: spawning into namespaces and sandboxes, awaiting children, and
        // the agent's pod records, through which the CLI and the API server enter running pods (`PodEntry`).
        .target(name: "KindlingProcess", dependencies: ["CLinuxShim", "KindlingNet", "KindlingAPI", "KindlingAddresses"]),
        // nf_tables: tables as values, the kernel behind a small protocol (libnftables text, raw batches, the
        // ruleset generation), and a fake that keeps a model of the kernel's tables for unit tests.
        .target(name: "KindlingNftables", dependencies: ["KindlingAPI", "KindlingAddresses", "CNftables", "CNftBatch"]),
        // The service proxy: services and endpoint slices -> this node's nf_tables table (pure), and the applier.
        .target(name: "KindlingProxy", dependencies: [
            "KindlingAPI", "KindlingAddresses", "KindlingNet", "KindlingProcess", "KindlingNftables", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The cluster DNS: the wire codec and the zone (pure), the server (SwiftNIO, UDP and TCP).
        .target(name: "KindlingDNS", dependencies: [
            "KindlingAPI", "KindlingAddresses",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // The node agent: node registration and status, route sync, pods and the service proxy.
        // NetworkPolicy as nf_tables rules: a pure renderer from policies, pods and namespaces to a table.
        .target(name: "KindlingPolicy", dependencies: ["KindlingAPI", "KindlingAddresses", "KindlingNftables"]),
        // Ingress routing: a pure renderer from Ingresses, services and endpoints to nginx's configuration.
        .target(name: "KindlingIngress", dependencies: ["KindlingAPI", "KindlingAddresses", "KindlingNet", "KindlingProcess"]),
        .target(name: "KindlingAgent", dependencies: [
            "KindlingAPI", "KindlingAddresses", "KindlingClient", "KindlingNet", "KindlingProcess", "KindlingNftables", "KindlingProxy", "KindlingPolicy", "KindlingReconcile",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // A cluster's machines and wires (the part `kind` does with docker), its state directory and teardown.
        .target(name: "KindlingCluster", dependencies: ["KindlingAPI", "KindlingAddresses", "KindlingNet", "KindlingProcess", "CLinuxShim"]),
        .executableTarget(
            name: "kindling",
            dependencies: [
                "KindlingAPI", "KindlingAddresses", "KindlingMachinery", "KindlingPrinters", "KindlingNet", "KindlingProcess", "KindlingCluster",
                "KindlingServer", "KindlingClient", "KindlingAgent", "KindlingDNS",
                "KindlingIngress",
                "KindlingReconcile", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The benchmarks (bench/README.md): proxy sync at scale, datapath, convergence, DNS, crash recovery.
        .executableTarget(
            name: "kindling-bench",
            dependencies: [
                "KindlingAPI", "KindlingAddresses", "KindlingNet", "KindlingProcess", "KindlingNftables", "KindlingProxy", "KindlingClient", "KindlingDNS", "KindlingCluster",
                "KindlingPolicy", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources"
        ),
        // Pure parts; no root needed.
        // What the unit and integration tests share: probes that time a store or a server from a thread of their own.
        .target(name: "KindlingTestSupport", path: "Tests/KindlingTestSupport"),
        .testTarget(name: "KindlingUnitTests", dependencies: ["KindlingTestSupport", "KindlingAPI", "KindlingAddresses", "KindlingMachinery", "KindlingPrinters", "KindlingNet", "KindlingProcess", "KindlingCluster", "KindlingStore", "KindlingServer", "KindlingAgent", "KindlingNftables", "KindlingProxy", "KindlingDNS", "KindlingPolicy", "KindlingIngress",
                                                        "KindlingReconcile", "KindlingClient"],
                    exclude: ["Golden"]),
        // Real namespaces, links and routes; run as root (skipped otherwise).
        .testTarget(name: "KindlingIntegrationTests", dependencies: ["KindlingTestSupport", "KindlingAPI", "KindlingAddresses", "KindlingNet", "KindlingProcess", "KindlingCluster", "KindlingClient", "KindlingAgent", "KindlingNftables", "KindlingProxy", "KindlingIngress"]),
    ]
)
