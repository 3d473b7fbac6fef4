import KindlingAPI

/// The rule a service chain is made of: `[numgen random mod N 0] meta l4proto <proto> dnat to <ip>:<port>`,
/// as text for libnftables and as values for a raw nfnetlink batch. Parsing accepts exactly what `text` writes.
public struct DNATRule: Hashable, Sendable {
    /// Taken with probability 1/modulus; nil: always (the cascade's last rule).
    public let modulus: Int?
    public let proto: ServicePort.Proto
    public let address: IPv4Address
    public let port: Int

    public init(modulus: Int?, proto: ServicePort.Proto, address: IPv4Address, port: Int) {
        self.modulus = modulus
        self.proto = proto
        self.address = address
        self.port = port
    }

    public var text: String {
        (modulus.map { "numgen random mod \($0) 0 " } ?? "") + "meta l4proto \(proto.rawValue) dnat to \(address):\(port)"
    }

    public init?(_ text: String) {
        var words = text.split(separator: " ").map(String.init)
        var modulus: Int?
        if words.count == 11, words[0...2] == ["numgen", "random", "mod"], words[4] == "0" {
            guard let n = Int(words[3]), n > 1 else { return nil }
            modulus = n
            words.removeFirst(5)
        }
        guard words.count == 6, words[0...1] == ["meta", "l4proto"], let proto = ServicePort.Proto(rawValue: words[2]),
              words[3...4] == ["dnat", "to"] else { return nil }
        let target = words[5].split(separator: ":")
        guard target.count == 2, let address = IPv4Address(target[0]), let port = Int(target[1]), (1...65535).contains(port) else { return nil }
        self.init(modulus: modulus, proto: proto, address: address, port: port)
    }
}
