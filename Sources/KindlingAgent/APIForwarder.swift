import KindlingAddresses
import Logging
import NIOCore
import NIOPosix

/// Where pods reach the API, as in a kind cluster: the control-plane node's address, port 6443 (the
/// `kubernetes` Service's endpoints). The agent of that node listens there and splices each connection, bytes
/// unchanged, to the API server's TLS endpoint on its unix socket, so TLS and authentication are the server's
/// own, as if it listened here.
struct APIForwarder: Sendable {
    let address: IPv4Address
    let port: Int
    let socketPath: String
    let logger: Logger

    typealias Stream = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    func run() async {
        while !Task.isCancelled {
            do {
                try await serve()
            } catch {
                logger.warning("API forwarder on \(address):\(port): \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func serve() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: address.description, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try Stream(wrappingChannelSynchronously: channel) }
            }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await client in connections {
                    group.addTask { await splice(client) }
                }
            }
        }
    }

    /// One client's bytes to the server's socket and back, until either side closes.
    func splice(_ client: Stream) async {
        do {
            let upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture { try Stream(wrappingChannelSynchronously: channel) }
                }
            try await client.executeThenClose { clientIn, clientOut in
                try await upstream.executeThenClose { serverIn, serverOut in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { for try await chunk in clientIn { try await serverOut.write(chunk) } }
                        group.addTask { for try await chunk in serverIn { try await clientOut.write(chunk) } }
                        try await group.next()
                        group.cancelAll()
                    }
                }
            }
        } catch {
            logger.debug("API forwarder connection ended: \(error)")
        }
    }
}
