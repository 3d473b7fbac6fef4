/// An IPv4 address as a plain value: parsing, printing and arithmetic without touching the network.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Parses dotted-quad text ("10.244.1.5"); nil for anything else (no leading zeros, no shorthand).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                  part == "0" || !part.hasPrefix("0"), let octet = UInt32(part), octet <= 255
            else { return nil }
            value = value << 8 | octet
        }
        self.value = value
    }

    public var octets: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public var description: String { octets.map(String.init).joined(separator: ".") }

    public func advanced(by n: Int) -> IPv4Address { IPv4Address(UInt32(truncatingIfNeeded: Int(value) + n)) }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An IPv4 prefix ("10.244.0.0/16"). The address is always the network address.
public struct IPv4CIDR: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefixLength: Int

    public init?(network: IPv4Address, prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        let mask = IPv4CIDR.mask(prefixLength)
        guard network.value & ~mask == 0 else { return nil }
        self.network = network
        self.prefixLength = prefixLength
    }

    /// Parses "a.b.c.d/n" whose host bits are zero, as Kubernetes requires of subnets.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parts[0]),
              parts[1].allSatisfy(\.isNumber), let length = Int(parts[1]) else { return nil }
        self.init(network: address, prefixLength: length)
    }

    /// The prefix of length `prefixLength` that holds `address` (host bits cleared).
    public init(containing address: IPv4Address, prefixLength: Int) {
        self.network = IPv4Address(address.value & IPv4CIDR.mask(prefixLength))
        self.prefixLength = prefixLength
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }

    public var mask: UInt32 { IPv4CIDR.mask(prefixLength) }
    /// How many addresses the prefix spans (2^(32-n)).
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }
    public var last: IPv4Address { IPv4Address(network.value | ~mask) }

    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }
    public func contains(_ other: IPv4CIDR) -> Bool {
        other.prefixLength >= prefixLength && contains(other.network)
    }
    public func overlaps(_ other: IPv4CIDR) -> Bool { contains(other.network) || other.contains(network) }

    /// The `index`-th address of the prefix (0 is the network address); nil past the end.
    public func address(at index: UInt64) -> IPv4Address? {
        index < size ? IPv4Address(network.value &+ UInt32(index)) : nil
    }

    /// The `index`-th subnet of length `length` inside this prefix; nil past the end or for a shorter length.
    public func subnet(_ index: Int, prefixLength length: Int) -> IPv4CIDR? {
        guard length >= prefixLength, length <= 32, index >= 0 else { return nil }
        let count = UInt64(1) << UInt64(length - prefixLength)
        guard UInt64(index) < count else { return nil }
        let step = UInt64(1) << UInt64(32 - length)
        return IPv4CIDR(network: IPv4Address(network.value &+ UInt32(UInt64(index) * step)), prefixLength: length)
    }

    public var description: String { "\(network)/\(prefixLength)" }

    public static func < (a: IPv4CIDR, b: IPv4CIDR) -> Bool {
        (a.network, a.prefixLength) < (b.network, b.prefixLength)
    }
}

/// An address together with the prefix length of the subnet it sits on ("172.18.0.2/16").
public struct IPv4Interface: Hashable, Sendable, CustomStringConvertible {
    public let address: IPv4Address
    public let prefixLength: Int

    public init(_ address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    public var subnet: IPv4CIDR { IPv4CIDR(containing: address, prefixLength: prefixLength) }
    public var description: String { "\(address)/\(prefixLength)" }
}

extension IPv4Address: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = IPv4Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid IPv4 address \(text)"))
        }
        self = value
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension IPv4CIDR: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = IPv4CIDR(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid CIDR \(text)"))
        }
        self = value
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An inclusive range of addresses, as MetalLB writes pools: `172.18.255.200-172.18.255.250` or a CIDR.
public struct IPv4Range: Hashable, Sendable, Codable, CustomStringConvertible {
    public let first: IPv4Address
    public let last: IPv4Address

    public init?(first: IPv4Address, last: IPv4Address) {
        guard first <= last else { return nil }
        self.first = first
        self.last = last
    }

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 2, let a = IPv4Address(parts[0]), let b = IPv4Address(parts[1]) {
            self.init(first: a, last: b)
        } else if parts.count == 1, let cidr = IPv4CIDR(text) {
            self.init(first: cidr.network, last: IPv4Address(cidr.network.value + UInt32(cidr.size - 1)))
        } else {
            return nil
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let range = IPv4Range(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an address range: \(text)"))
        }
        self = range
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public func contains(_ address: IPv4Address) -> Bool { first <= address && address <= last }
    public var addresses: [IPv4Address] { (first.value...last.value).map(IPv4Address.init) }
    public var description: String { "\(first)-\(last)" }
}
