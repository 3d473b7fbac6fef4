import AsyncHTTPClient
import Foundation
import KindlingAPI
import NIOCore
import NIOHTTP1

/// A typed client of the kindling API over its unix socket: get, list, create, update, delete, watch.
/// API errors arrive as the server's `Status`.
public final class APIClient: Sendable {
    public let socketPath: String
    let http: HTTPClient

    public init(socketPath: String) {
        self.socketPath = socketPath
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5))
        // Every open watch holds a connection for as long as it runs (an agent keeps about ten); the default of 8
        // per host would leave none for the requests between them. Connections over the unix socket are cheap.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? http.syncShutdown() }

    public func shutdown() async throws { try await http.shutdown() }

    /// The URL path of a kind's collection (`namespace` nil: all namespaces, or cluster-scoped).
    public static func path(_ type: any KubeObject.Type, namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = type.group.isEmpty ? "/api/v1" : "/apis/\(type.apiVersion)"
        if type.namespaced, let namespace { path += "/namespaces/\(namespace)" }
        path += "/\(type.resource)"
        if let name { path += "/\(name)" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    static func query(_ items: [String: String?]) -> String {
        let pairs = items.compactMap { key, value in value.map { (key, $0) } }.sorted { $0.0 < $1.0 }
        guard !pairs.isEmpty else { return "" }
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+,")
        return "?" + pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }

    // MARK: Raw requests

    /// Sends one request and returns its status and body. Transport errors are thrown as they are.
    public func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json",
                     accept: String = "application/json") async throws -> (status: Int, body: Data) {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw Status.badRequest("invalid request path \(path)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "Accept", value: accept)
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        // An overloaded server answers 429 with Retry-After before doing anything: wait and send again, as
        // client-go does (at most 10 times).
        var retries = 0
        while true {
            let response = try await http.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
            guard response.status == .tooManyRequests, retries < APIClient.maxRetries else {
                return (Int(response.status.code), Data(bytes.readableBytesView))
            }
            retries += 1
            let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init) ?? 1
            try await Task.sleep(for: .seconds(min(max(seconds, 1), 10)))
        }
    }

    /// How often a request answered 429 is sent again (client-go's default).
    static let maxRetries = 10

    func decode<T: Decodable>(_ type: T.Type, _ result: (status: Int, body: Data)) throws -> T {
        guard (200..<300).contains(result.status) else {
            if let status = try? KubeJSON.decoder.decode(Status.self, from: result.body) { throw status }
            throw Status(code: result.status, reason: "Unknown", message: String(decoding: result.body, as: UTF8.self))
        }
        return try KubeJSON.decoder.decode(T.self, from: result.body)
    }

    // MARK: Typed requests

    public func get<T: KubeObject>(_ type: T.Type, namespace: String? = nil, name: String) async throws -> T {
        try decode(T.self, await send(.GET, APIClient.path(T.self, namespace: namespace, name: name)))
    }

    public func list<T: KubeObject>(_ type: T.Type, namespace: String? = nil, labelSelector: String? = nil,
                                    fieldSelector: String? = nil) async throws -> ObjectList<T> {
        let query = APIClient.query(["labelSelector": labelSelector, "fieldSelector": fieldSelector])
        return try decode(ObjectList<T>.self, await send(.GET, APIClient.path(T.self, namespace: namespace) + query))
    }

    public func create<T: KubeObject>(_ object: T, namespace: String? = nil) async throws -> T {
        let ns = T.namespaced ? (namespace ?? object.metadata.namespace ?? "default") : nil
        return try decode(T.self, await send(.POST, APIClient.path(T.self, namespace: ns), body: KubeJSON.encoder.encode(object)))
    }

    public func update<T: KubeObject>(_ object: T) async throws -> T {
        let path = APIClient.path(T.self, namespace: object.metadata.namespace, name: object.name)
        return try decode(T.self, await send(.PUT, path, body: KubeJSON.encoder.encode(object)))
    }

    public func updateStatus<T: KubeObject>(_ object: T) async throws -> T {
        let path = APIClient.path(T.self, namespace: object.metadata.namespace, name: object.name, subresource: "status")
        return try decode(T.self, await send(.PUT, path, body: KubeJSON.encoder.encode(object)))
    }

    /// Deletes an object; `gracePeriodSeconds: 0` removes a pod at once (what an agent sends once it stopped it).
    @discardableResult
    public func delete<T: KubeObject>(_ type: T.Type, namespace: String? = nil, name: String,
                                      gracePeriodSeconds: Int64? = nil) async throws -> T {
        let query = APIClient.query(["gracePeriodSeconds": gracePeriodSeconds.map(String.init)])
        return try decode(T.self, await send(.DELETE, APIClient.path(T.self, namespace: namespace, name: name) + query))
    }

    public func scale<T: Scalable>(_ type: T.Type, namespace: String, name: String, replicas: Int) async throws -> Scale {
        let path = APIClient.path(T.self, namespace: namespace, name: name, subresource: "scale")
        let body = try JSONSerialization.data(withJSONObject: ["spec": ["replicas": replicas]])
        return try decode(Scale.self, await send(.PATCH, path, body: body, contentType: "application/merge-patch+json"))
    }

    /// Records an Event, best effort: a repeat of one already recorded counts it up.
    public func record(_ event: Event) async {
        do {
            var current = try await get(Event.self, namespace: event.namespace, name: event.name)
            current.repeated(now: event.lastTimestamp ?? Timestamp.string())
            _ = try await update(current)
        } catch {
            _ = try? await create(event, namespace: event.namespace)
        }
    }

    // MARK: Watch

    /// A watch from `resourceVersion` (nil: every current object first). Ends when the server closes it;
    /// a 410 Gone arrives as a thrown `Status` with code 410, after which the caller must list again.
    public func watch<T: KubeObject>(_ type: T.Type, namespace: String? = nil, resourceVersion: String? = nil,
                                     labelSelector: String? = nil, fieldSelector: String? = nil,
                                     timeoutSeconds: Int? = nil) -> AsyncThrowingStream<WatchEvent<T>, Error> {
        let query = APIClient.query(["watch": "1", "resourceVersion": resourceVersion, "labelSelector": labelSelector,
                                     "fieldSelector": fieldSelector, "timeoutSeconds": timeoutSeconds.map(String.init)])
        let lines = watchLines(APIClient.path(T.self, namespace: namespace) + query)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent<T>.self)
        let task = Task {
            do {
                for try await line in lines { continuation.yield(try KubeJSON.decoder.decode(WatchEvent<T>.self, from: line)) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The events of a watch at `path` (its query included), one JSON line each, for any kind, custom ones too.
    public func watchLines(_ path: String) -> AsyncThrowingStream<Data, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
        let task = Task { [http, socketPath] in
            do {
                guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else { throw Status.badRequest("bad path") }
                var request = HTTPClientRequest(url: url.absoluteString)
                request.headers.add(name: "Accept", value: "application/json")
                let response = try await http.execute(request, timeout: .hours(24 * 365))
                guard response.status == .ok else {
                    let body = try await response.body.collect(upTo: 1 << 20)
                    throw (try? KubeJSON.decoder.decode(Status.self, from: Data(body.readableBytesView)))
                        ?? Status(code: Int(response.status.code), reason: "Unknown", message: "watch failed")
                }
                var pending = Data()
                for try await chunk in response.body {
                    pending.append(contentsOf: chunk.readableBytesView)
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = pending[pending.startIndex..<newline]
                        pending = Data(pending[pending.index(after: newline)...])
                        if !line.isEmpty { continuation.yield(Data(line)) }
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
