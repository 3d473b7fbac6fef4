import CNftables
import Foundation

/// A libnftables context: takes rulesets as `nft -f` text and commits each call as one transaction.
///
/// libnftables keeps process-wide state, binds its socket to the namespace it is created in and resolves
/// interface names in the calling thread's (KERNEL-NOTES.md): create and use it on one thread, in one namespace.
public final class NftContext: @unchecked Sendable {
    private let context: OpaquePointer

    public init() throws {
        guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { throw ProxyError("cannot create an nftables context") }
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
        if status != 0 { throw ProxyError(errors.isEmpty ? "nft failed (\(status))" : errors) }
        return output
    }

    /// The calling thread's namespace's ruleset generation, which every commit (anyone's) moves on.
    public static func generation() throws -> UInt32 {
        var generation: UInt32 = 0
        guard kl_nft_genid(&generation) == 0 else { throw ProxyError("reading the nf_tables generation: \(String(cString: strerror(errno)))") }
        return generation
    }
}
