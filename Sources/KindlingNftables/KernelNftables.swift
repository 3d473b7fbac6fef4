import CNftBatch
import CNftables
import Foundation

/// The nf_tables calls the proxy and the policy loop make, as a protocol so that `FakeNftables` can stand in
/// for the kernel in unit tests (as knftables' `Interface` and its fake do).
public protocol Nftables: AnyObject {
    /// Runs `nft -f` text as one transaction: all of it takes effect or, on any error, none. Returns what nft
    /// printed (a `list` command's listing).
    @discardableResult
    func run(_ commands: String) throws -> String
    /// Sends `operations` as one raw nfnetlink transaction on the `ip` table `table`.
    func commit(_ operations: [NftBatch.Operation], table: String) throws
    /// The namespace's ruleset generation, which every commit (anyone's) moves on.
    func generation() throws -> UInt32
}

/// The kernel's nf_tables: libnftables for text, a raw nfnetlink socket for batches and the generation, both
/// opened on first use, so inside the namespace (and on the thread) of the first call, which all later calls
/// must share.
public final class KernelNftables: Nftables, @unchecked Sendable {
    private var context: NftContext?
    private var socket: NftSocket?

    public init() {}

    @discardableResult
    public func run(_ commands: String) throws -> String {
        let context = try self.context ?? NftContext()
        self.context = context
        return try context.run(commands)
    }

    public func commit(_ operations: [NftBatch.Operation], table: String) throws {
        try NftBatch.commit(operations, table: table, on: try openSocket())
    }

    public func generation() throws -> UInt32 { try openSocket().generation() }

    private func openSocket() throws -> NftSocket {
        let socket = try self.socket ?? NftSocket()
        self.socket = socket
        return socket
    }
}

/// A libnftables context: takes rulesets as `nft -f` text and commits each call as one transaction.
///
/// libnftables keeps process-wide state, binds its socket to the namespace it is created in and resolves
/// interface names in the calling thread's (KERNEL-NOTES.md): create and use it on one thread, in one namespace.
public final class NftContext: @unchecked Sendable {
    private let context: OpaquePointer

    public init() throws {
        guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { throw NftablesError("cannot create an nftables context") }
        self.context = context
        // Without buffers libnftables prints to this process's stdout and stderr.
        nft_ctx_buffer_output(context)
        nft_ctx_buffer_error(context)
    }

    deinit { nft_ctx_free(context) }

    /// Runs `commands`; all of them take effect or, on any error, none. Returns what nft printed.
    @discardableResult
    public func run(_ commands: String) throws -> String {
        let status = nft_run_cmd_from_buffer(context, commands)
        let output = String(cString: nft_ctx_get_output_buffer(context))
        let errors = String(cString: nft_ctx_get_error_buffer(context))
        if status != 0 { throw NftablesError(errors.isEmpty ? "nft failed (\(status))" : errors) }
        return output
    }
}

/// A netfilter netlink socket, bound to the namespace it was opened in. Kept for the applier's life: closing
/// one waits for an RCU grace period (8-16 ms here), more than a small change takes.
public final class NftSocket: @unchecked Sendable {
    let socket: OpaquePointer

    public init() throws {
        guard let socket = kl_nft_socket_open() else { throw NftablesError("nfnetlink socket: \(String(cString: strerror(errno)))") }
        self.socket = socket
    }

    deinit { kl_nft_socket_close(socket) }

    /// The namespace's ruleset generation, which every commit (anyone's) moves on.
    public func generation() throws -> UInt32 {
        var generation: UInt32 = 0
        let result = kl_nft_generation(socket, &generation)
        guard result == 0 else { throw NftablesError("reading the nf_tables generation: \(String(cString: strerror(-result)))") }
        return generation
    }
}

/// One nf_tables transaction built as raw nfnetlink messages (see kl_nft_batch.h): for the small changes
/// a sync sends after the first, without libnftables reading the whole table first. Use it on one thread,
/// inside the namespace it changes.
public final class NftBatch {
    private let batch: OpaquePointer

    public init(table: String) throws {
        guard let batch = kl_nft_batch_new(table) else { throw NftablesError("cannot allocate an nfnetlink batch") }
        self.batch = batch
    }

    deinit { kl_nft_batch_free(batch) }

    public func flush(chain: String) throws { try check(kl_nft_batch_flush_chain(batch, chain), "flush chain \(chain)") }

    /// Appends `goto target` (or `jump target`) to `chain`.
    public func addVerdict(chain: String, goto: Bool, target: String) throws {
        try check(kl_nft_batch_add_verdict_rule(batch, chain, goto ? 1 : 0, target), "add rule to \(chain)")
    }

    /// Adds or deletes an element of a set or map; `key` and `value` (a map's, when adding) as the kernel stores
    /// them (see `NftTable.ElementLayout`).
    public func element(set: String, add: Bool, key: [UInt8], value: [UInt8]? = nil) throws {
        let result = key.withUnsafeBytes { key in
            guard let value else { return kl_nft_batch_set_element(batch, set, add ? 1 : 0, key.baseAddress, key.count, nil, 0) }
            return value.withUnsafeBytes { value in
                kl_nft_batch_set_element(batch, set, add ? 1 : 0, key.baseAddress, key.count, value.baseAddress, value.count)
            }
        }
        try check(result, "\(add ? "add" : "delete") element of \(set)")
    }

    public func commit(on socket: NftSocket) throws { try check(kl_nft_batch_commit(batch, socket.socket), "commit") }

    /// One change a batch can carry.
    public enum Operation: Hashable, Sendable {
        case flush(chain: String)
        case verdict(chain: String, goto: Bool, target: String)
        case element(set: String, add: Bool, key: [UInt8], value: [UInt8]?)
    }

    /// Sends `operations` as one transaction on `table`.
    public static func commit(_ operations: [Operation], table: String, on socket: NftSocket) throws {
        let batch = try NftBatch(table: table)
        for operation in operations {
            switch operation {
            case .flush(let chain): try batch.flush(chain: chain)
            case .verdict(let chain, let goto, let target): try batch.addVerdict(chain: chain, goto: goto, target: target)
            case .element(let set, let add, let key, let value): try batch.element(set: set, add: add, key: key, value: value)
            }
        }
        try batch.commit(on: socket)
    }

    private func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else { throw NftablesError("nfnetlink \(what): \(String(cString: strerror(-result)))") }
    }
}

/// What nf_tables refused, with libnftables' or the kernel's own words.
public struct NftablesError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
