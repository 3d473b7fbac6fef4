import KindlingNftables

/// Writes the proxy's table into the kernel: the whole table in one transaction, or a difference from what this
/// applier wrote last. A difference goes as a raw nfnetlink batch when it is of the kinds a batch carries (an
/// endpoint change), else as libnftables text. A failed transaction changes nothing; the caller then writes the
/// whole table. Whether someone else changed the ruleset since this applier's last commit shows in the
/// ruleset's generation (`drifted`).
///
/// Confined to one thread inside the namespace it programs (see `NftContext`), hence unchecked Sendable.
public final class ProxyApplier: @unchecked Sendable {
    private let nftables: any Nftables
    private var generation: UInt32?

    public init(_ nftables: any Nftables = KernelNftables()) { self.nftables = nftables }

    /// Replaces the table, whatever the kernel has, in one transaction.
    public func applyFull(_ table: NftTable) throws {
        generation = nil
        try nftables.run(table.fullSyncCommands)
        generation = try nftables.generation()
    }

    /// Applies `delta` to the table this applier wrote last.
    public func apply(_ delta: NftTable.Delta) throws {
        generation = nil
        if let operations = delta.batchOperations, (try? nftables.commit(operations, table: ProxyRules.tableName)) != nil {
            // (A refused batch changed nothing: the text gets its chance.)
        } else {
            try nftables.run(delta.commands)
        }
        generation = try nftables.generation()
    }

    /// Whether the ruleset changed since this applier's last commit (or it never committed).
    public func drifted() throws -> Bool {
        guard let generation else { return true }
        return try nftables.generation() != generation
    }
}
