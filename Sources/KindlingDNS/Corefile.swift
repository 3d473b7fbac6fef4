import KindlingAddresses
import KindlingAPI

/// What the cluster DNS reads from CoreDNS's configuration (ConfigMap `kube-system/coredns`, key `Corefile`):
/// the `forward` plugin's upstreams, where names outside the cluster domain go. Everything else in the file
/// describes what the server does anyway (kubernetes, cache, prometheus, ...) and is left as it is.
public enum Corefile {
    public struct Upstream: Hashable, Sendable, CustomStringConvertible {
        public let address: IPv4Address
        public let port: Int
        public var description: String { "\(address):\(port)" }
    }

    /// The upstreams of `forward . TO...` (CoreDNS syntax: `1.2.3.4`, `1.2.3.4:5353`, `dns://1.2.3.4`), and what
    /// could not be used, worded for a log. `/etc/resolv.conf` is not used: it names the machine's own
    /// resolver, outside every namespace kindling made.
    public static func upstreams(_ text: String) -> (upstreams: [Upstream], problems: [String]) {
        var upstreams: [Upstream] = []
        var problems: [String] = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first?.split(whereSeparator: { $0 == " " || $0 == "\t" }) ?? []
            guard words.first == "forward" else { continue }
            guard words.count >= 3 else {
                problems.append("forward needs a zone and at least one upstream: \(line.trimmed)")
                continue
            }
            guard words[1] == "." else {
                problems.append("forward only for zone \".\" is supported, not \(words[1])")
                continue
            }
            for target in words.dropFirst(2) {
                if target == "{" { break }
                if target.hasPrefix("/") {
                    problems.append("forward to \(target) is not used: it names the machine's resolver, outside the cluster's namespaces")
                    continue
                }
                let hostPort = target.hasPrefix("dns://") ? target.dropFirst("dns://".count) : target[...]
                let parts = hostPort.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count <= 2, let address = IPv4Address(String(parts[0])),
                      let port = parts.count == 2 ? Int(parts[1]) : 53, (1...65535).contains(port) else {
                    problems.append("forward to \(target): not an IPv4 address with an optional port")
                    continue
                }
                upstreams.append(Upstream(address: address, port: port))
            }
        }
        return (upstreams, problems)
    }
}

extension Substring {
    fileprivate var trimmed: String { String(drop { $0 == " " || $0 == "\t" }) }
}
