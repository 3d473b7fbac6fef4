import KindlingAddresses
import KindlingAPI
@testable import KindlingDNS
import Testing

/// The DNS wire codec: round trips, compression, EDNS, truncation, and hostile input.
@Suite struct DNSCodecTests {
    func name(_ text: String) -> DNSName { try! DNSName(text) }

    var response: DNSMessage {
        var message = DNSMessage(header: .init(id: 0xBEEF))
        message.header.isResponse = true
        message.header.authoritative = true
        message.header.recursionDesired = true
        message.questions = [.init(name: name("_http._tcp.web.dev.svc.cluster.local"), type: .srv)]
        message.answers = [
            .init(name: name("_http._tcp.web.dev.svc.cluster.local"), ttl: 30,
                  data: .srv(priority: 0, weight: 100, port: 80, target: name("web.dev.svc.cluster.local"))),
            .init(name: name("web.dev.svc.cluster.local"), ttl: 30, data: .a(IPv4Address("10.96.0.20")!)),
            .init(name: name("db.dev.svc.cluster.local"), ttl: 30, data: .cname(name("db.example.com"))),
            .init(name: name("20.0.96.10.in-addr.arpa"), ttl: 30, data: .ptr(name("web.dev.svc.cluster.local"))),
            .init(name: name("web.dev.svc.cluster.local"), ttl: 30, data: .txt([Array("hello".utf8), []])),
            .init(name: name("web.dev.svc.cluster.local"), ttl: 30, data: .aaaa(Array(repeating: 0, count: 15) + [1])),
            .init(name: name("web.dev.svc.cluster.local"), ttl: 30, data: .other(RecordType(rawValue: 99), [1, 2, 3])),
        ]
        message.authorities = [.init(name: name("cluster.local"), ttl: 30, data: .soa(SOA(
            primary: name("ns.dns.cluster.local"), mailbox: name("hostmaster.cluster.local"),
            serial: 7, refresh: 7200, retry: 1800, expire: 86400, minimum: 30)))]
        var edns = DNSMessage.EDNS(udpPayloadSize: 1232)
        edns.dnssecOK = true
        edns.options = [.init(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]
        message.edns = edns
        return message
    }

    @Test func messagesRoundTripWithCompression() throws {
        let bytes = response.encoded()
        #expect(try DNSMessage(parsing: bytes) == response)
        // `cluster` is written twice: in the question, and in the SRV target, which RFC 2782 forbids compressing;
        // every other name ending in cluster.local points back.
        let word = Array("cluster".utf8)
        let occurrences = (0...(bytes.count - word.count)).filter { Array(bytes[$0..<$0 + word.count]) == word }.count
        #expect(occurrences == 2, "\(bytes.count) bytes")
    }

    @Test func aQueryAsDigSendsIt() throws {
        // dig @10.96.0.10 web.dev.svc.cluster.local A +edns, as captured.
        let query: [UInt8] = [0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
                              3, 0x77, 0x65, 0x62, 3, 0x64, 0x65, 0x76, 3, 0x73, 0x76, 0x63, 7] + Array("cluster".utf8) + [5] + Array("local".utf8)
            + [0, 0, 1, 0, 1, 0, 0, 0x29, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]
        let message = try DNSMessage(parsing: query)
        #expect(message.header.id == 0x1234 && message.header.recursionDesired && message.header.authenticData)
        #expect(message.questions == [.init(name: name("WEB.dev.svc.cluster.local"), type: .a)])
        #expect(message.edns?.udpPayloadSize == 1232)
        #expect(message.encoded() == query)
    }

    @Test func namesCompareWithoutCaseAndKeepTheirLimits() throws {
        #expect(name("Web.Dev.SVC.cluster.local.") == name("web.dev.svc.cluster.local"))
        #expect(name("a.b.cluster.local").isSubdomain(of: name("cluster.local")))
        #expect(!name("notcluster.local").isSubdomain(of: name("cluster.local")))
        #expect(name("web.dev.svc.cluster.local").labels(under: name("svc.cluster.local")) == ["web", "dev"])
        #expect(try DNSName(labels: [[0x20, 0x41]]).description == "\\032A.")
        #expect(DNSName.root.description == "." && name(".") == .root)
        #expect(throws: DNSError.self) { try DNSName(String(repeating: "a", count: 64) + ".local") }
        #expect(throws: DNSError.self) { try DNSName(Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")) }
        #expect(throws: DNSError.self) { try DNSName("a..b") }
    }

    @Test func tooLargeForUDPIsTruncated() throws {
        var big = response
        big.answers = (0..<60).map { .init(name: name("web-\($0).dev.svc.cluster.local"), ttl: 30, data: .a(IPv4Address(UInt32($0)))) }
        let bytes = big.encoded(maxSize: DNSMessage.classicUDPSize)
        #expect(bytes.count <= DNSMessage.classicUDPSize)
        let parsed = try DNSMessage(parsing: bytes)
        #expect(parsed.header.truncated && parsed.answers.isEmpty && parsed.questions == big.questions && parsed.edns != nil)
        #expect(try DNSMessage(parsing: big.encoded()).answers.count == 60)
    }

    @Test func hostileInputIsRejectedNotFollowed() {
        let header: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        let cases: [(String, [UInt8])] = [
            ("short header", [0, 1, 0]),
            ("pointer to itself", header + [0xC0, 12, 0, 1, 0, 1]),
            ("pointer forward", header + [0xC0, 14, 1, 0x61, 0, 0, 1, 0, 1]),
            ("loop of two pointers", header + [1, 0x61, 0xC0, 16, 0xC0, 12, 0, 1, 0, 1]),
            ("label past the end", header + [9, 0x61]),
            ("reserved label type", header + [0x40, 0, 0, 1, 0, 1]),
            ("question missing", header),
            ("trailing bytes", header + [0, 0, 1, 0, 1, 0xFF]),
        ]
        for (what, bytes) in cases {
            #expect(throws: DNSError.self, "\(what)") { try DNSMessage(parsing: bytes) }
        }
    }

    /// Random bytes and random mutations of a valid message: the parser throws or returns, never traps, and
    /// whatever it accepts it writes back to something it reads the same way.
    @Test func fuzzedInputNeverTraps() {
        var random = SeededRandom(state: 7)
        let valid = response.encoded()
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &random)) }
            }
            if let message = try? DNSMessage(parsing: bytes) {
                #expect((try? DNSMessage(parsing: message.encoded())) == message)
            }
        }
    }
}
