import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// CoreDNS's `forward` plugin, for names outside the cluster domain: the query goes as it came over UDP to
/// each upstream in turn until one answers, each on a fresh connected socket (a random source port, and an
/// upstream that refuses shows at once as an ICMP error instead of a timeout). Nil when none answers.
public final class DNSForwarder: Sendable {
    private let current = NIOLockedValueBox<[Corefile.Upstream]>([])
    private let inFlight = NIOLockedValueBox(0)
    /// How long one upstream gets (CoreDNS waits up to 2 s per attempt too).
    let timeout: Duration
    /// Queries forwarded at once, at most (CoreDNS's max_concurrent default): beyond it SERVFAIL at once, which
    /// also bounds a forwarding loop (a server made to forward to itself).
    let maxConcurrent: Int

    public init(timeout: Duration = .seconds(2), maxConcurrent: Int = 1000) {
        self.timeout = timeout
        self.maxConcurrent = maxConcurrent
    }

    public var upstreams: [Corefile.Upstream] { current.withLockedValue { $0 } }

    /// Whether any upstream is set: asked for every query, without copying the list.
    public var isForwarding: Bool { current.withLockedValue { !$0.isEmpty } }

    public func set(_ upstreams: [Corefile.Upstream]) { current.withLockedValue { $0 = upstreams } }

    /// The first upstream's reply to `query` (its ID checked), or nil.
    public func forward(_ query: [UInt8]) async -> [UInt8]? {
        guard query.count >= 12 else { return nil }
        let admitted = inFlight.withLockedValue { count in
            guard count < maxConcurrent else { return false }
            count += 1
            return true
        }
        guard admitted else { return nil }
        defer { inFlight.withLockedValue { $0 -= 1 } }
        for upstream in upstreams {
            if let reply = try? await ask(upstream, query) { return reply }
        }
        return nil
    }

    private func ask(_ upstream: Corefile.Upstream, _ query: [UInt8]) async throws -> [UInt8]? {
        let address = try SocketAddress(ipAddress: "\(upstream.address)", port: upstream.port)
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        let timeout = self.timeout
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: query)))
            return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask {
                    for try await envelope in inbound {
                        let reply = Array(buffer: envelope.data)
                        // Only an answer to this query: same ID, response bit set.
                        if reply.count >= 12, reply[0] == query[0], reply[1] == query[1], reply[2] & 0x80 != 0 { return reply }
                    }
                    return nil
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
        }
    }
}
