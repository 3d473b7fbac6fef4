/// Writes the proxy's table into the kernel: the whole table in one transaction, or a difference from what this
/// applier wrote last. A difference goes as a raw nfnetlink batch when it is of the kinds a batch carries (an
/// endpoint change), else as libnftables text. A failed transaction changes nothing; the caller then writes the
/// whole table. Whether someone else changed the ruleset since this applier's last commit shows in the
/// ruleset's generation (`drifted`).
///
/// Confined to one thread inside the namespace it programs (see `NftContext`), hence unchecked Sendable.
public final class ProxyApplier: @unchecked Sendable {
    private var context: NftContext?
    private var socket: NftSocket?
    private var generation: UInt32?

    public init() {}

    /// Replaces the table, whatever the kernel has, in one transaction.
    public func applyFull(_ table: NftTable) throws {
        generation = nil
        try open().context.run(table.fullSyncCommands)
        generation = try socket?.generation()
    }

    /// Applies `delta` to the table this applier wrote last.
    public func apply(_ delta: NftTable.Delta) throws {
        let (context, socket) = try open()
        generation = nil
        if let operations = delta.batchOperations, (try? NftBatch.commit(operations, table: ProxyRules.tableName, on: socket)) != nil {
            // (A refused batch changed nothing: the text gets its chance.)
        } else {
            try context.run(delta.commands)
        }
        generation = try socket.generation()
    }

    /// Whether the ruleset changed since this applier's last commit (or it never committed).
    public func drifted() throws -> Bool {
        guard let generation, let socket else { return true }
        return try socket.generation() != generation
    }

    private func open() throws -> (context: NftContext, socket: NftSocket) {
        let context = try self.context ?? NftContext()
        let socket = try self.socket ?? NftSocket()
        (self.context, self.socket) = (context, socket)
        return (context, socket)
    }
}
