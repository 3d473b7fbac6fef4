import KindlingAddresses
import KindlingAPI

/// Pod addresses from the node's pod CIDR: .1 is every pod's gateway (the host side of the veths), so pods
/// get .2 upwards, lowest free first, never the network or broadcast address.
public enum PodIPAM {
    public static func next(in cidr: IPv4CIDR, used: Set<IPv4Address>) -> IPv4Address? {
        guard cidr.size >= 4 else { return nil }
        for index in UInt64(2)..<(cidr.size - 1) {
            guard let candidate = cidr.address(at: index) else { return nil }
            if !used.contains(candidate) { return candidate }
        }
        return nil
    }
}
