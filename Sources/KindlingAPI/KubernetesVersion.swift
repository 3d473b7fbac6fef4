/// The Kubernetes version kindling's API and nodes present themselves as (what `kubectl version`, `get nodes`
/// and probes' User-Agent show): the release whose API it follows.
public enum KubernetesVersion {
    public static let major = "1"
    public static let minor = "37"
    public static let gitVersion = "v\(major).\(minor).0-kindling"
}
