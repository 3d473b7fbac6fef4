/// The Kubernetes version kindling's API and nodes present themselves as (what `kubectl version`, `get nodes`
/// and probes' User-Agent show): the release whose API it follows.
public enum KubernetesVersion {
    public static let major = "1"
    public static let minor = "37"
    public static let gitVersion = "v\(major).\(minor).0-kindling"
}

/// Kindling's own release, as `kindling version` prints it beside the Kubernetes version it serves.
public enum KindlingVersion {
    public static let current = "v0.1.0"

    /// The platform in Go's words, as kind and kubectl print it (`linux/amd64`).
    public static func platform(machine: String) -> String {
        let arch = ["x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm"][machine] ?? machine
        return "linux/\(arch)"
    }
}
