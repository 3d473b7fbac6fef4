import KindlingAPI
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The cluster DNS server: UDP and TCP on one port (SwiftNIO), answering from the current `ClusterRecords`.
/// A query that cannot be parsed gets FORMERR when its header could be read, and is dropped otherwise.
public struct DNSServer: Sendable {
    /// The zone being served; replaced whole when the cluster changes.
    public final class Zone: Sendable {
        private let current: NIOLockedValueBox<ClusterRecords>
        public init(_ records: ClusterRecords) { current = NIOLockedValueBox(records) }
        public func replace(_ records: ClusterRecords) { current.withLockedValue { $0 = records } }
        public var records: ClusterRecords { current.withLockedValue { $0 } }
    }

    public let zone: Zone
    public let forwarder: DNSForwarder
    /// The address to listen on: all of the namespace's by default. A server in a namespace with several
    /// addresses bound to one replies from that one (the kernel would pick a reply's source by route otherwise).
    public let address: String
    public let port: Int

    public init(zone: Zone, forwarder: DNSForwarder = DNSForwarder(), address: String = "0.0.0.0", port: Int = 53) {
        self.zone = zone
        self.forwarder = forwarder
        self.address = address
        self.port = port
    }

    /// What to do with one query's bytes: reply (nil: drop), or forward the parsed query upstream when its name is
    /// outside the cluster's and upstreams are configured. The bytes are parsed once, here.
    enum Handling {
        case reply([UInt8]?)
        case forward(DNSMessage)
    }

    static func handling(_ bytes: [UInt8], records: ClusterRecords, forwarding: Bool, udp: Bool) -> Handling {
        let query: DNSMessage
        do {
            query = try DNSMessage(parsing: bytes)
        } catch {
            guard bytes.count >= 12, bytes[2] & 0x80 == 0 else { return .reply(nil) }
            var failure = DNSMessage(header: .init(id: UInt16(bytes[0]) << 8 | UInt16(bytes[1])))
            failure.header.isResponse = true
            failure.header.rcode = UInt8(ResponseCode.formatError.rawValue)
            return .reply(failure.encoded())
        }
        guard !query.header.isResponse else { return .reply(nil) }
        if forwarding, query.header.opcode == 0, query.questions.count == 1, let question = query.questions.first,
           !records.covers(question.name) {
            return .forward(query)
        }
        let started = ContinuousClock.now
        let response = records.answer(query)
        let limit = udp ? max(DNSMessage.classicUDPSize, Int(min(query.edns?.udpPayloadSize ?? 0, 4096))) : 65535
        let reply = response.encoded(maxSize: limit)
        DNSMetrics.answered(query, response, udp: udp, zone: records.zone, duration: ContinuousClock.now - started)
        return .reply(reply)
    }

    /// The upstream's reply to a forwarded query (`bytes` as the client sent them), or SERVFAIL when none
    /// answered (as CoreDNS's forward).
    static func forwarded(_ query: DNSMessage, _ bytes: [UInt8], by forwarder: DNSForwarder, zone: DNSName, udp: Bool) async -> [UInt8] {
        let started = ContinuousClock.now
        if let reply = await forwarder.forward(bytes), let response = try? DNSMessage(parsing: reply) {
            DNSMetrics.answered(query, response, udp: udp, zone: zone, duration: ContinuousClock.now - started)
            return reply
        }
        var failure = DNSMessage(header: .init(id: query.header.id))
        failure.header.isResponse = true
        failure.header.recursionDesired = query.header.recursionDesired
        failure.header.rcode = UInt8(ResponseCode.serverFailure.rawValue)
        failure.questions = query.questions
        DNSMetrics.answered(query, failure, udp: udp, zone: zone, duration: ContinuousClock.now - started)
        return failure.encoded()
    }

    /// The reply to one query's bytes from the cluster's records alone, or nil to drop it. A UDP reply is bounded
    /// by the client's EDNS size (TC beyond it).
    public static func reply(to bytes: [UInt8], records: ClusterRecords, udp: Bool) -> [UInt8]? {
        guard case .reply(let reply) = handling(bytes, records: records, forwarding: false, udp: udp) else { return nil }
        return reply
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let udp = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: address, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        let tcp = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: address, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let (zone, forwarder) = (self.zone, self.forwarder)
        /// The reply to `bytes`, waiting for an upstream where the query is forwarded.
        @Sendable func respond(_ bytes: [UInt8], udp: Bool) async -> [UInt8]? {
            let records = zone.records
            switch DNSServer.handling(bytes, records: records, forwarding: forwarder.isForwarding, udp: udp) {
            case .reply(let reply): return reply
            case .forward(let query): return await DNSServer.forwarded(query, bytes, by: forwarder, zone: records.zone, udp: udp)
            }
        }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                try await udp.executeThenClose { inbound, outbound in
                    try await withThrowingDiscardingTaskGroup { forwarding in
                        for try await envelope in inbound {
                            let bytes = Array(buffer: envelope.data)
                            let records = zone.records
                            switch DNSServer.handling(bytes, records: records, forwarding: forwarder.isForwarding, udp: true) {
                            case .reply(let reply):
                                guard let reply else { continue }
                                try await outbound.write(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply)))
                            case .forward(let query):
                                // Waits on an upstream: beside the loop, which goes on answering.
                                forwarding.addTask {
                                    let reply = await DNSServer.forwarded(query, bytes, by: forwarder, zone: records.zone, udp: true)
                                    try? await outbound.write(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply)))
                                }
                            }
                        }
                    }
                }
            }
            group.addTask {
                try await tcp.executeThenClose { connections in
                    try await withThrowingDiscardingTaskGroup { connectionTasks in
                        for try await connection in connections {
                            connectionTasks.addTask {
                                // One client's connection: length-prefixed queries and replies until it closes.
                                try? await connection.executeThenClose { inbound, outbound in
                                    for try await frame in inbound {
                                        guard let reply = await respond(Array(buffer: frame), udp: false) else { continue }
                                        var framed = ByteBuffer()
                                        framed.writeInteger(UInt16(reply.count))
                                        framed.writeBytes(reply)
                                        try await outbound.write(framed)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// DNS over TCP: each message preceded by its length in two bytes (RFC 1035 §4.2.2).
struct TCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

/// CoreDNS's own metric names, so dashboards made for CoreDNS read these (served on :9153 by `kindling dns`).
enum DNSMetrics {
    static let rcodes: [UInt16: String] = [0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 16: "BADVERS"]

    static func answered(_ query: DNSMessage, _ response: DNSMessage, udp: Bool, zone: DNSName, duration: Duration) {
        let server = ("server", "dns://:53")
        let zoneLabel = ("zone", response.header.authoritative ? zone.description : ".")
        let type = query.questions.first.map { "\($0.type)" } ?? "other"
        Counter(label: "coredns_dns_requests_total", dimensions: [server, zoneLabel, ("proto", udp ? "udp" : "tcp"), ("family", "1"), ("type", type)])
            .increment()
        Counter(label: "coredns_dns_responses_total",
                dimensions: [server, zoneLabel, ("rcode", rcodes[response.responseCode.rawValue] ?? "\(response.responseCode.rawValue)")])
            .increment()
        Timer(label: "coredns_dns_request_duration_seconds", dimensions: [server, zoneLabel, ("type", type)])
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
