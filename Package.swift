// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "kindling",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kindling", targets: ["kindling"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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
        // Kubernetes- and kind-shaped values, validation, address arithmetic. Pure.
        .target(name: "KindlingAPI", dependencies: [.product(name: "Yams", package: "Yams")]),
        // Thin layer over the kernel: namespaces, links, addresses, routes, sysctls.
        .target(name: "KindlingNet", dependencies: ["CLinuxShim", "CNetlink", "KindlingAPI"]),
        // A cluster's machines and wires (the part `kind` does with docker), its state directory and teardown.
        .target(name: "KindlingCluster", dependencies: ["KindlingAPI", "KindlingNet"]),
        .executableTarget(
            name: "kindling",
            dependencies: [
                "KindlingAPI", "KindlingNet", "KindlingCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Pure parts; no root needed.
        .testTarget(name: "KindlingUnitTests", dependencies: ["KindlingAPI", "KindlingNet", "KindlingCluster"]),
        // Real namespaces, links and routes; run as root (skipped otherwise).
        .testTarget(name: "KindlingIntegrationTests", dependencies: ["KindlingAPI", "KindlingNet", "KindlingCluster"]),
    ]
)
