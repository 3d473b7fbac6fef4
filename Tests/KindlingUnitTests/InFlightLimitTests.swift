import Foundation
import KindlingAPI
import KindlingNet
import KindlingProcess
import KindlingServer
import KindlingStore
import Testing

/// kube-apiserver's max-in-flight limits: which requests count, and a full limit answered with 429.
@Suite struct InFlightLimitTests {
    @Test(arguments: [
        ("GET", "/api/v1/namespaces/dev/pods", [:], InFlightLimit.Kind.readOnly),
        ("GET", "/api/v1/pods", ["watch": "true"], .longRunning),
        ("GET", "/apis/apps/v1/deployments", ["watch": "1"], .longRunning),
        ("GET", "/api/v1/namespaces/dev/pods/web/log", [:], .longRunning),
        ("POST", "/api/v1/namespaces/dev/pods/web/exec", [:], .longRunning),
        ("GET", "/api/v1/namespaces/dev/pods/web/attach", [:], .longRunning),
        ("GET", "/api/v1/namespaces/dev/configmaps/log", [:], .readOnly),
        ("GET", "/version", [:], .readOnly),
        ("POST", "/api/v1/namespaces/dev/configmaps", [:], .mutating),
        ("PATCH", "/apis/apps/v1/namespaces/dev/deployments/web/scale", [:], .mutating),
        ("DELETE", "/api/v1/namespaces/dev/pods", [:], .mutating),
    ] as [(String, String, [String: String], InFlightLimit.Kind)])
    func requestsCountAsKubeApiserverCountsThem(method: String, path: String, query: [String: String], kind: InFlightLimit.Kind) {
        #expect(InFlightLimit.kind(method: method, path: path, query: query) == kind)
    }

    @Test func placesAreTakenAndGivenBack() {
        let limit = InFlightLimit(readOnly: 2, mutating: 1)
        #expect(limit.acquire(.mutating))
        #expect(!limit.acquire(.mutating))
        #expect(limit.acquire(.readOnly) && limit.acquire(.readOnly) && !limit.acquire(.readOnly))
        #expect(limit.acquire(.longRunning))
        limit.release(.mutating)
        #expect(limit.acquire(.mutating))
        #expect(InFlightLimit(readOnly: 0, mutating: 0).acquire(.mutating), "0 is no limit, as for kube-apiserver's flags")
    }

    /// A real server with room for one write: a POST whose body has not arrived yet holds the place, the next
    /// write gets kube-apiserver's 429 (Retry-After: 1, its plain-text body) and changes nothing, reads still
    /// pass, and once the first body arrives writes are taken again.
    @Test func aFullLimitIsAnswered429AndChangesNothing() async throws {
        let socket = "/tmp/kl-inflight-\(UInt32.random(in: 0...UInt32.max)).sock"
        defer { unlink(socket) }
        let registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        let limit = InFlightLimit(readOnly: 10, mutating: 1)
        let server = Task { try await HTTPServer(handler: APIHandler(registry: registry), socketPath: socket, limit: limit).run() }
        defer { server.cancel() }
        func connect() async throws -> Int32 {
            for _ in 0..<500 {
                if let fd = try? UnixSocket.connect(socket) { return fd }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw Status.internalError("the server never listened on \(socket)")
        }
        func configMap(_ name: String) -> Data { Data("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"\(name)\"}}".utf8) }
        func head(_ method: String, _ path: String, length: Int) -> Data {
            Data("\(method) \(path) HTTP/1.1\r\nHost: kindling\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8)
        }
        /// Everything the server sends until it closes the connection.
        func response(_ fd: Int32) -> String {
            var all = Data()
            while case let chunk = UnixSocket.read(fd), !chunk.isEmpty { all.append(chunk) }
            close(fd)
            return String(decoding: all, as: UTF8.self)
        }
        func send(_ method: String, _ path: String, _ body: Data = Data()) async throws -> String {
            let fd = try await connect()
            UnixSocket.writeAll(fd, head(method, path, length: body.count) + body)
            return response(fd)
        }

        let slow = try await connect()
        let body = configMap("first")
        UnixSocket.writeAll(slow, head("POST", "/api/v1/namespaces/dev/configmaps", length: body.count))
        for _ in 0..<500 where limit.current.mutating == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(limit.current.mutating == 1, "the slow POST holds the only place for a write")

        let refused = try await send("POST", "/api/v1/namespaces/dev/configmaps", configMap("second"))
        #expect(refused.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"), "\(refused)")
        #expect(refused.lowercased().contains("\r\nretry-after: 1\r\n"))
        #expect(refused.hasSuffix("\r\n\r\nToo many requests, please try again later.\n"))
        #expect(try registry.list(ConfigMap.self, namespace: "dev").items.isEmpty)
        #expect(try await send("GET", "/api/v1/namespaces/dev/configmaps").hasPrefix("HTTP/1.1 200 OK"))

        UnixSocket.writeAll(slow, body)
        #expect(response(slow).hasPrefix("HTTP/1.1 201 Created"))
        #expect(try await send("POST", "/api/v1/namespaces/dev/configmaps", configMap("third")).hasPrefix("HTTP/1.1 201 Created"))
        #expect(try registry.list(ConfigMap.self, namespace: "dev").items.map(\.name) == ["first", "third"])
        #expect(limit.current.mutating == 0 && limit.current.readOnly == 0)
    }
}
