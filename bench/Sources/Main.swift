import ArgumentParser

/// `kindling-bench`: the service proxy's benchmarks, each printed beside its kernel baseline
/// (KERNEL-NOTES.md holds the figures measured when the project started). Runs as root, in network
/// namespaces named `kl-kbench-*` that it makes and deletes; no traffic leaves them.
@main
struct KindlingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kindling-bench",
        abstract: "Benchmarks of kindling's service proxy, beside their kernel baselines.",
        subcommands: [ProxySyncBench.self, DatapathBench.self, ConvergenceBench.self, DNSBench.self, CrashBench.self, KubectlBench.self, CustomResourceBench.self,
                      PolicyBench.self, IngressBench.self, ScaleBench.self, WorkloadBench.self]
    )
}
