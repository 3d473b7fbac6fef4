/// Makes the kernel's table equal to a rendered one. The first sync writes the whole table in one
/// transaction; later ones write only the difference from what was applied, unless the ruleset's generation
/// moved since this applier's last commit (someone else changed it): then the whole table again, which
/// repairs the drift. A failed transaction changes nothing, and the next sync is a full one.
///
/// Confined to one thread inside the namespace it programs (see `NftContext`), hence unchecked Sendable.
public final class ProxyApplier: @unchecked Sendable {
    private var context: NftContext?
    private var socket: NftSocket?
    private var applied: NftTable?
    private var generation: UInt32?

    public init() {}

    public func apply(_ table: NftTable) throws -> ProxySync {
        let context = try self.context ?? NftContext()
        self.context = context
        if socket == nil { socket = try NftSocket() }
        if let applied, !(try drifted()) {
            if applied == table { return .unchanged }
            if let delta = table.delta(from: applied) {
                // An endpoint change goes out as raw nfnetlink (no reading of the table first); anything else,
                // or a batch the kernel refused (it changed nothing), as text.
                if let operations = delta.batchOperations, (try? commitBatch(operations, table)) != nil { return .partial }
                if (try? commit(delta.commands, table, context)) != nil { return .partial }
            }
        }
        do {
            try commit(table.fullSyncCommands, table, context)
        } catch {
            applied = nil
            throw error
        }
        return .full
    }

    /// Whether the ruleset changed since this applier's last commit (or it never committed).
    public func drifted() throws -> Bool {
        guard let generation, let socket else { return true }
        return try socket.generation() != generation
    }

    private func commitBatch(_ operations: [NftBatch.Operation], _ table: NftTable) throws {
        guard let socket else { throw ProxyError("no nfnetlink socket") }
        try NftBatch.commit(operations, table: table.name, on: socket)
        applied = table
        generation = try socket.generation()
    }

    private func commit(_ commands: String, _ table: NftTable, _ context: NftContext) throws {
        try context.run(commands)
        applied = table
        generation = try socket?.generation()
    }
}
