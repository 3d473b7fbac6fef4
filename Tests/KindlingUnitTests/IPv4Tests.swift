import KindlingAddresses
import KindlingAPI
import Testing

@Suite struct IPv4Tests {
    @Test func parsesAndPrintsAddresses() {
        #expect(IPv4Address("10.244.1.5")?.description == "10.244.1.5")
        #expect(IPv4Address("255.255.255.255")?.value == UInt32.max)
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "a.b.c.d", "1..2.3", "1.2.3.4 "] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
    }

    @Test func parsesCIDRsWithZeroHostBitsOnly() {
        #expect(IPv4CIDR("10.244.0.0/16")?.description == "10.244.0.0/16")
        #expect(IPv4CIDR("0.0.0.0/0")?.size == 1 << 32)
        #expect(IPv4CIDR("10.244.0.1/16") == nil)
        #expect(IPv4CIDR("10.244.0.0/33") == nil)
        #expect(IPv4CIDR("10.244.0.0") == nil)
        #expect(IPv4CIDR("10.244.0.0/-1") == nil)
    }

    @Test func subnetsAndContainment() throws {
        let pods = try #require(IPv4CIDR("10.244.0.0/16"))
        #expect(pods.subnet(0, prefixLength: 24)?.description == "10.244.0.0/24")
        #expect(pods.subnet(2, prefixLength: 24)?.description == "10.244.2.0/24")
        #expect(pods.subnet(255, prefixLength: 24)?.description == "10.244.255.0/24")
        #expect(pods.subnet(256, prefixLength: 24) == nil)
        #expect(pods.subnet(0, prefixLength: 8) == nil)
        #expect(pods.contains(IPv4Address("10.244.9.9")!))
        #expect(!pods.contains(IPv4Address("10.245.0.0")!))
        #expect(pods.contains(IPv4CIDR("10.244.3.0/24")!))
        #expect(!IPv4CIDR("10.244.3.0/24")!.contains(pods))
        #expect(pods.overlaps(IPv4CIDR("10.0.0.0/8")!))
        #expect(!pods.overlaps(IPv4CIDR("10.96.0.0/16")!))
        #expect(pods.last.description == "10.244.255.255")
        #expect(IPv4CIDR(containing: IPv4Address("172.18.0.7")!, prefixLength: 16).description == "172.18.0.0/16")
    }
}
