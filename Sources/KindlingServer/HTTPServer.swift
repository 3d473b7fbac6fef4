import Foundation
import Hummingbird
import HummingbirdTLS
import HummingbirdWebSocket
import HTTPTypes
import KindlingAPI
import Logging
import NIOCore

/// Serves the API over HTTP/1.1: on a unix socket (mode 0600, so root only) for agents and the CLI, and with
/// TLS on 127.0.0.1 for remote clients, which must present the cluster's bearer token.
public struct HTTPServer: Sendable {
    public struct TLSListener: Sendable {
        public let port: Int
        public let credentials: ServerCredentials
        /// A unix socket serving the same TLS endpoint, for the forwarder of the control-plane node's port 6443.
        public let socketPath: String?

        public init(port: Int, credentials: ServerCredentials, socketPath: String? = nil) {
            self.port = port
            self.credentials = credentials
            self.socketPath = socketPath
        }
    }

    public let handler: APIHandler
    public let socketPath: String
    public let tls: TLSListener?
    /// Prometheus text for GET /metrics; nil: no metrics endpoint.
    public let metrics: (@Sendable () -> String)?
    /// How many requests are handled at once; the rest get 429 (shared by both listeners, as one server's).
    public let limit: InFlightLimit

    public init(handler: APIHandler, socketPath: String, tls: TLSListener? = nil, metrics: (@Sendable () -> String)? = nil,
                limit: InFlightLimit = InFlightLimit()) {
        self.handler = handler
        self.socketPath = socketPath
        self.tls = tls
        self.metrics = metrics
        self.limit = limit
    }

    public func run(onReady: @escaping @Sendable () -> Void = {}) async throws {
        unlink(socketPath)
        var logger = Logger(label: "kindling.api")
        logger.logLevel = .warning
        let socketPath = self.socketPath
        let local = Application(
            responder: responder(authenticator: nil),
            server: .http1WebSocketUpgrade(shouldUpgrade: upgrade(authenticator: nil)),
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "kindling"),
            onServerRunning: { _ in
                chmod(socketPath, 0o600)
                onReady()
            },
            logger: logger)
        guard let tls else {
            try await local.runService()
            return
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(tls.credentials.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(tls.credentials.privateKeyPEM.utf8), format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        let authenticator = Authenticator(adminToken: tls.credentials.token, tokens: handler.tokens, registry: handler.registry)
        // The same TLS endpoint twice: on 127.0.0.1 for the host, and on a unix socket the control-plane
        // node's agent forwards its address's port 6443 to, for clients in pods.
        let addresses: [BindAddress] = [.hostname("127.0.0.1", port: tls.port)] + (tls.socketPath.map { [.unixDomainSocket(path: $0)] } ?? [])
        if let path = tls.socketPath { unlink(path) }
        let remotes = try addresses.map { address in
            Application(
                responder: responder(authenticator: authenticator),
                server: try .tls(.http1WebSocketUpgrade(shouldUpgrade: upgrade(authenticator: authenticator)), tlsConfiguration: configuration),
                configuration: .init(address: address, serverName: "kindling"),
                logger: logger)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await local.runService() }
            for remote in remotes { group.addTask { try await remote.runService() } }
            try await group.next()
            group.cancelAll()
        }
    }

    /// WebSocket upgrades for `pods/exec` and `pods/attach` of a running pod (with a token, only for requests
    /// bearing it); anything else goes on to the responder, which answers it or says why not.
    func upgrade(authenticator: Authenticator?) -> @Sendable (HTTPRequest, any Channel, Logger) async throws
        -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let registry = handler.registry, cluster = handler.cluster, reads = handler.logReads
        return { request, _, _ in
            if let authenticator, authenticator.user(authorization: request.headerFields[.authorization]) == nil { return .dontUpgrade }
            guard let cluster, let stream = PodExec.parse(request.path ?? ""),
                  let subprotocol = PodExec.subprotocol(offered: request.headerFields[.secWebSocketProtocol]),
                  let pod = try? registry.get(Pod.self, namespace: stream.namespace, name: stream.pod)
            else { return .dontUpgrade }
            if stream.attach {
                guard let container = try? ContainerLog.container(of: pod, asked: stream.container), pod.phase != "Pending" else { return .dontUpgrade }
                let log = ContainerLog(registry: registry, cluster: cluster, pod: pod, container: container)
                return .upgrade([.secWebSocketProtocol: subprotocol]) { inbound, outbound, _ in
                    try await PodExec.attach(log, after: reads, request: stream, cluster: cluster, inbound: inbound, outbound: outbound)
                }
            }
            guard pod.phase == "Running" else { return .dontUpgrade }
            return .upgrade([.secWebSocketProtocol: subprotocol]) { inbound, outbound, _ in
                try await PodExec.run(stream, pod: pod, cluster: cluster, inbound: inbound, outbound: outbound)
            }
        }
    }

    /// Answers every request through the handler; with an authenticator, only requests it names a user for
    /// (401 otherwise), each as that user.
    func responder(authenticator: Authenticator?) -> CallbackResponder<BasicRequestContext> {
        let handler = self.handler, metrics = self.metrics, limit = self.limit
        return CallbackResponder { request, context in
            var request = request
            var user = UserInfo.admin
            if let authenticator {
                guard let known = authenticator.user(authorization: request.headers[.authorization]) else {
                    return HTTPServer.response(Status(code: 401, reason: "Unauthorized", message: "Unauthorized"))
                }
                user = known
            }
            let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { a, _ in a })
            let labels = RequestMetrics.labels(method: request.method.rawValue, path: request.uri.path, query: query)
            let kind = InFlightLimit.kind(method: request.method.rawValue, labels: labels)
            guard limit.acquire(kind) else {
                RequestMetrics.record(labels, code: 429, since: .now)
                return Response(status: .tooManyRequests, headers: [.retryAfter: "1", .contentType: "text/plain; charset=utf-8"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: InFlightLimit.refusal)))
            }
            defer { limit.release(kind) }
            if request.uri.path == "/metrics", request.method == .get, let metrics {
                let asked = RequestAttributes(verb: "get", path: "/metrics")
                if !((try? handler.decide(user, asked).allowed) ?? false) { return HTTPServer.response(RBACPolicy.forbidden(user, asked)) }
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics())))
            }
            let started = ContinuousClock.now
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: APIHandler.maxBodySize)
            } catch is NIOTooManyBytesError {
                return HTTPServer.response(APIHandler.tooLarge)
            }
            let apiRequest = APIRequest(
                method: request.method.rawValue,
                path: request.uri.path,
                query: query,
                body: Data(buffer: body),
                contentType: request.headers[.contentType],
                accept: request.headers[.accept],
                userAgent: request.headers[.userAgent],
                user: user,
                impersonation: Impersonation(user: request.headers[HTTPServer.impersonateUser],
                                             groups: request.headers[values: HTTPServer.impersonateGroup],
                                             uid: request.headers[HTTPServer.impersonateUID])
            )
            switch await handler.handle(apiRequest) {
            case .json(let status, let data, let warnings, let contentType):
                RequestMetrics.record(labels, code: status, since: started)
                var headers: HTTPFields = [.contentType: contentType]
                for warning in warnings {
                    // RFC 7234's quoted string, as apimachinery writes it: backslashes and quotes escaped.
                    let quoted = warning.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    headers.append(HTTPField(name: HTTPServer.warning, value: "299 - \"\(quoted)\""))
                }
                return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
            case .stream(let lines, let contentType):
                RequestMetrics.record(labels, code: 200, since: started)
                return Response(status: .ok, headers: [.contentType: contentType, .transferEncoding: "chunked"],
                                body: ResponseBody(asyncSequence: RequestMetrics.watching(lines, path: apiRequest.path).map { ByteBuffer(bytes: $0) }))
            }
        }
    }

    static let warning = HTTPField.Name("Warning")!
    static let impersonateUser = HTTPField.Name("Impersonate-User")!
    static let impersonateGroup = HTTPField.Name("Impersonate-Group")!
    static let impersonateUID = HTTPField.Name("Impersonate-Uid")!

    static func response(_ status: Status) -> Response {
        Response(status: .init(code: status.code), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: status.wireJSON)))
    }
}
