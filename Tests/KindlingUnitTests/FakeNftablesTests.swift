import Foundation
@testable import KindlingNftables
import Testing

/// The model of nf_tables that the proxy's and policy's unit tests run against: it must take what the kernel
/// takes and refuse what the kernel refuses (each refusal here was seen from the kernel, KERNEL-NOTES.md and
/// the proxy's root tests), all or nothing per transaction.
@Suite struct FakeNftablesTests {
    static let base = """
        add table ip t
        add chain ip t input { type filter hook input priority 0 ; }
        add chain ip t target
        add map ip t ports { type inet_proto . inet_service : verdict ; }
        add set ip t addresses { type ipv4_addr ; }
        add rule ip t input ip daddr @addresses jump target
        add element ip t ports { tcp . 80 : goto target }

        """

    func nftables() throws -> FakeNftables {
        let nftables = FakeNftables()
        try nftables.run(Self.base)
        return nftables
    }

    @Test(arguments: [
        ("delete table ip missing", "No such file or directory"),
        ("add chain ip missing c", "No such file or directory"),
        ("add rule ip t nowhere accept", "No such file or directory"),
        ("add rule ip t input jump nowhere", "No such file or directory"),
        ("add rule ip t input ip saddr @nowhere accept", "No such file or directory"),
        ("add element ip t nowhere { 10.0.0.1 }", "No such file or directory"),
        ("delete element ip t addresses { 10.0.0.9 }", "No such file or directory"),
        ("add element ip t addresses { not-an-address }", "Invalid argument"),
        // Referenced by the input chain's rule and by the map's element.
        ("delete chain ip t target", "Device or resource busy"),
        ("delete set ip t addresses", "Device or resource busy"),
        ("add element ip t ports { tcp . 80 : drop }", "Device or resource busy"),
        ("add rule ip t target jump input", "Operation not supported"),
        ("add set ip t addresses { type inet_service ; }", "File exists"),
        ("insert rule ip t input accept", "Invalid argument"),
    ])
    func refusesWhatTheKernelRefusesAndChangesNothing(command: String, message: String) throws {
        let nftables = try nftables()
        let before = try nftables.generation()
        // A good command ahead of the bad one in the same transaction is undone with it.
        let error = #expect(throws: NftablesError.self) { try nftables.run("add chain ip t extra\n" + command) }
        #expect(error?.description.contains(message) == true, "\(command): \(error?.description ?? "")")
        #expect(error?.description.contains(command) == true)
        #expect(try nftables.generation() == before)
        #expect(nftables.table("ip", "t")?.chains.map(\.name) == ["input", "target"])
    }

    @Test func takesWhatTheKernelTakes() throws {
        let nftables = try nftables()
        try nftables.run("""
            add table ip t
            add chain ip t target
            add element ip t addresses { 10.0.0.1, 10.0.0.2 }
            add element ip t addresses { 10.0.0.1 }
            add element ip t ports { tcp . 80 : goto target }
            delete element ip t addresses { 10.0.0.2 }
            """)
        // A chain's own rules go with it; once nothing refers to it, it may go.
        try nftables.run("flush chain ip t input\ndelete element ip t ports { tcp . 80 }\ndelete chain ip t target\ndelete chain ip t input")
        #expect(try nftables.run("list table ip t") == """
            table ip t {
            \tmap ports {
            \t\ttype inet_proto . inet_service : verdict
            \t}
            \tset addresses {
            \t\ttype ipv4_addr
            \t\telements = { 10.0.0.1 }
            \t}
            }

            """)
        try nftables.run("delete table ip t")
        #expect(throws: NftablesError.self) { try nftables.run("list table ip t") }
    }

    @Test func everyCommitMovesTheGenerationListingsDoNot() throws {
        let nftables = try nftables()
        let first = try nftables.generation()
        _ = try nftables.run("list table ip t")
        #expect(try nftables.generation() == first)
        try nftables.run("add element ip t addresses { 10.0.0.1 }")
        try nftables.commit([.element(set: "addresses", add: true, key: [10, 0, 0, 2], value: nil)], table: "t")
        #expect(try nftables.generation() == first &+ 2)
        #expect(nftables.commits == [.text, .text, .batch])
    }

    @Test func batchesAreDecodedByTheSetsDeclaredType() throws {
        let nftables = FakeNftables()
        let layout = NftTable.ElementLayout(key: [.ipv4, .proto, .port, .slot], value: [.ipv4, .port])
        #expect(NftTable.ElementLayout(declaration: "typeof ip daddr . meta l4proto . th dport . numgen random mod 2 : ip daddr . th dport ;") == layout)
        #expect(NftTable.ElementLayout(declaration: "type ipv4_addr . inet_proto . inet_service : verdict ;") == nil)
        try nftables.run("""
            add table ip t
            add map ip t endpoints { typeof ip daddr . meta l4proto . th dport . numgen random mod 2 : ip daddr . th dport ; }
            add chain ip t pick
            """)
        let key = try #require(NftTable.ElementLayout.encode("10.96.0.1 . tcp . 80 . 3", layout.key))
        let value = try #require(NftTable.ElementLayout.encode("10.244.0.2 . 8080", layout.value))
        #expect(key.count == 16 && value.count == 8)
        try nftables.commit([.element(set: "endpoints", add: true, key: key, value: value), .verdict(chain: "pick", goto: true, target: "pick")], table: "t")
        #expect(nftables.table("ip", "t")?.sets.first?.elements == ["10.96.0.1 . tcp . 80 . 3": "10.244.0.2 . 8080"])
        #expect(nftables.table("ip", "t")?.chains.first?.rules == ["goto pick"])
        // A key of the wrong length, or for a table that is not there, changes nothing.
        #expect(throws: NftablesError.self) {
            try nftables.commit([.flush(chain: "pick"), .element(set: "endpoints", add: true, key: [1, 2], value: value)], table: "t")
        }
        #expect(throws: NftablesError.self) { try nftables.commit([.flush(chain: "pick")], table: "other") }
        #expect(nftables.table("ip", "t")?.chains.first?.rules == ["goto pick"])
        try nftables.commit([.element(set: "endpoints", add: false, key: key, value: nil)], table: "t")
        #expect(nftables.table("ip", "t")?.sets.first?.elements == [:])
    }

    @Test func refusalsOnRequestFailOneCallOnItsChannel() throws {
        let nftables = try nftables()
        nftables.refuseNext(.batch)
        #expect(throws: NftablesError.self) { try nftables.commit([], table: "t") }
        try nftables.commit([], table: "t")
        nftables.refuseNext(.text)
        #expect(throws: NftablesError.self) { try nftables.run("list table ip t") }
        _ = try nftables.run("list table ip t")
    }
}
