/// UDP has no connection to end: a conntrack entry keeps DNATing a client's datagrams to an endpoint that
/// is gone until the entry times out. After each sync kube-proxy deletes the entries of removed UDP
/// endpoints, and of UDP services that just got their first endpoint; these are the `conntrack` calls for it.
public enum ConntrackCleanup {
    /// Argument lists for `conntrack`, one deletion each. Pure.
    public static func commands(old: [ServicePort], new: [ServicePort]) -> [[String]] {
        let before = Dictionary(old.filter { $0.proto == .udp }.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        var commands: [[String]] = []
        for port in new where port.proto == .udp {
            guard let previous = before[key(port)] else { continue }
            let now = Set(port.clusterEndpoints.map(\.ip)).union(port.externalEndpoints.map(\.ip))
            let gone = Set(previous.clusterEndpoints.map(\.ip)).union(previous.externalEndpoints.map(\.ip)).subtracting(now).sorted()
            for ip in gone {
                commands.append(["-D", "-p", "udp", "--orig-dst", "\(port.clusterIP)", "--dst-nat", "\(ip)"])
                if let nodePort = port.nodePort {
                    commands.append(["-D", "-p", "udp", "--orig-port-dst", "\(nodePort)", "--dst-nat", "\(ip)"])
                }
            }
            if previous.clusterEndpoints.isEmpty && !port.clusterEndpoints.isEmpty {
                commands.append(["-D", "-p", "udp", "--orig-dst", "\(port.clusterIP)"])
            }
        }
        // Service ports removed altogether: their entries point at endpoints no rule leads to any more.
        let remaining = Set(new.map(key))
        for (name, previous) in before.sorted(by: { $0.key < $1.key }) where !remaining.contains(name) {
            commands.append(["-D", "-p", "udp", "--orig-dst", "\(previous.clusterIP)", "--orig-port-dst", "\(previous.port)"])
        }
        return commands
    }

    static func key(_ port: ServicePort) -> String { "\(port.name)/\(port.proto.rawValue)" }
}
