import Foundation
import Hummingbird
import KindlingAPI
import Logging
import NIOCore

/// Serves the API over HTTP/1.1 on a unix socket (mode 0600: root only), as agents and the CLI reach it.
public struct HTTPServer: Sendable {
    public let handler: APIHandler
    public let socketPath: String

    public init(handler: APIHandler, socketPath: String) {
        self.handler = handler
        self.socketPath = socketPath
    }

    public func run(onReady: @escaping @Sendable () -> Void = {}) async throws {
        unlink(socketPath)
        let handler = self.handler
        let responder = CallbackResponder<BasicRequestContext> { request, context in
            var request = request
            let body = try await request.collectBody(upTo: APIHandler.maxBodySize + 1)
            let apiRequest = APIRequest(
                method: request.method.rawValue,
                path: request.uri.path,
                query: Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { a, _ in a }),
                body: Data(buffer: body),
                contentType: request.headers[.contentType]
            )
            switch await handler.handle(apiRequest) {
            case .json(let status, let data):
                return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
            case .stream(let lines):
                return Response(status: .ok, headers: [.contentType: "application/json", .transferEncoding: "chunked"],
                                body: ResponseBody(asyncSequence: lines.map { ByteBuffer(bytes: $0) }))
            }
        }
        var logger = Logger(label: "kindling.api")
        logger.logLevel = .warning
        let socketPath = self.socketPath
        let app = Application(
            responder: responder,
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "kindling"),
            onServerRunning: { _ in
                chmod(socketPath, 0o600)
                onReady()
            },
            logger: logger
        )
        try await app.runService()
    }
}
