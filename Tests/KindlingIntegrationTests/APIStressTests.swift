import Foundation
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingNet
import KindlingProcess
import KindlingTestSupport
import Synchronization
import Testing

/// Issue 15 against a real server: hundreds of watches opened and gone again (the client disconnecting, or the
/// server ending them at `timeoutSeconds`) while thousands of writes flow. The server must answer a probe within
/// a deadline throughout, and a watcher that stays must get every write's event, in order.
@Suite(.enabled(if: isRoot, "needs root: builds a cluster"))
struct APIStressTests {
    static let oneNode = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n"

    /// What the run's tasks share: acknowledged writes, failed probes, and the flag that ends the run.
    final class Run: Sendable {
        let acknowledged = Mutex<[Int64]>([])
        let stop = Mutex(false)
        let failedProbes = Mutex(0)
        var stopped: Bool { stop.withLock { $0 } }
        var writes: Int { acknowledged.withLock { $0.count } }
    }

    /// One GET over the unix socket, blocking, as plain HTTP/1.1: whether it was answered 200.
    static func get(_ socket: String, _ path: String) -> Bool {
        guard let fd = try? UnixSocket.connect(socket) else { return false }
        defer { close(fd) }
        UnixSocket.writeAll(fd, Data("GET \(path) HTTP/1.1\r\nHost: kindling\r\nConnection: close\r\n\r\n".utf8))
        var answer = Data()
        while case let chunk = UnixSocket.read(fd), !chunk.isEmpty { answer.append(chunk) }
        return String(decoding: answer.prefix(15), as: UTF8.self) == "HTTP/1.1 200 OK"
    }

    /// The resourceVersions one watcher saw, in the order it saw them.
    final class Seen: Sendable {
        let revisions = Mutex<[Int64]>([])
        var all: [Int64] { revisions.withLock { $0 } }
    }

    @Test func theServerKeepsAnsweringWhileWatchesComeAndGoUnderWrites() async throws {
        let cli = CLITests()
        let name = uniqueClusterName("stress")
        defer { _ = try? cli.kindling(["delete", "cluster", "--name", name]) }
        let created = try cli.kindling(["create", "cluster", "--name", name, "--config", "-"], input: Self.oneNode)
        try #require(created.status == 0, "\(created.output)")
        let socket = ClusterProcesses(cluster: name).socketPath
        // Separate clients, so watches holding connections never leave writes or the probe without one.
        let writer = APIClient(socketPath: socket)
        let watchClients = (0..<4).map { _ in APIClient(socketPath: socket) }
        _ = try await writer.create(Namespace(name: "stress"))
        let start = try await writer.list(ConfigMap.self, namespace: "stress").metadata.resourceVersion

        let writers = 4, writesPerWriter = 500, churnWatches = 400
        let seenByStayers = (0..<4).map { _ in Seen() }
        let run = Run()
        // The probe: a GET on a thread of its own every 10 ms; none may wait 5 s.
        let probe = ReadProbe { if !Self.get(socket, "/api/v1/namespaces/stress") { run.failedProbes.withLock { $0 += 1 } } }
        defer { probe.stop() }
        var stalled = false

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, seen) in seenByStayers.enumerated() {
                group.addTask {
                    for try await event in watchClients[index].watch(ConfigMap.self, namespace: "stress", resourceVersion: start) {
                        if let rv = event.object.metadata.resourceVersion.flatMap(Int64.init) { seen.revisions.withLock { $0.append(rv) } }
                        if run.stopped { return }
                    }
                }
            }
            // Watches that go: every other one is dropped by its client after a moment, the rest ended by the server
            // at timeoutSeconds=1. A hundred at a time.
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { watches in
                    for i in 0..<churnWatches {
                        if i >= 100 { try await watches.next() }
                        let client = watchClients[i % watchClients.count]
                        watches.addTask {
                            let byClient = i.isMultiple(of: 2)
                            let events = client.watch(ConfigMap.self, namespace: "stress", resourceVersion: i.isMultiple(of: 3) ? nil : start,
                                                      timeoutSeconds: byClient ? nil : 1)
                            await withThrowingTaskGroup(of: Void.self) { watch in
                                watch.addTask { for try await _ in events {} }
                                if byClient {
                                    try? await Task.sleep(for: .milliseconds(Int.random(in: 10...300)))
                                    watch.cancelAll()
                                }
                                _ = try? await watch.waitForAll()
                            }
                        }
                    }
                    try await watches.waitForAll()
                }
            }
            // The writes: ConfigMaps created, then updated, by four writers at once.
            for w in 0..<writers {
                group.addTask {
                    for i in 0..<writesPerWriter {
                        let key = "w\(w)-\(i % 25)"
                        let object = i < 25
                            ? try await writer.create(ConfigMap(namespace: "stress", name: key, data: ["i": "\(i)"]))
                            : try await Self.update(writer, key, i)
                        if let rv = object.metadata.resourceVersion.flatMap(Int64.init) { run.acknowledged.withLock { $0.append(rv) } }
                    }
                }
            }
            // Stop once every write is acknowledged and every stayer saw it, or when nothing moves for a minute.
            try await waitWhileMoving({ run.writes }) {
                stalled = stalled || probe.waiting > .seconds(5)
                return stalled || run.writes == writers * writesPerWriter
            }
            let expected = run.acknowledged.withLock { $0.sorted() }
            for seen in seenByStayers {
                try await waitWhileMoving({ seen.all.count }) { stalled || seen.all.count >= expected.count }
            }
            run.stop.withLock { $0 = true }
            group.cancelAll()
            while let next = await group.nextResult() {
                if case .failure(let error) = next, !(error is CancellationError) { Issue.record("\(error)") }
            }

            #expect(expected.count == writers * writesPerWriter, "only \(expected.count) writes acknowledged\n\(clusterLogTail(name))")
            for seen in seenByStayers {
                let got = seen.all
                #expect(got == expected, "a watcher that stayed saw \(got.count) of \(expected.count) events, or out of order")
            }
            #expect(!stalled, "the server left a GET unanswered for 5 s\n\(clusterLogTail(name))")
            #expect(probe.slowestRead < .seconds(5) && run.failedProbes.withLock { $0 } == 0)
            print("API stress: \(expected.count) writes, \(churnWatches) watches come and gone; the probe's slowest answer \(probe.slowestRead)")
        }
        for client in [writer] + watchClients { try? await client.shutdown() }
    }

    /// Updates ConfigMap `name` to `i`, again on a conflict with another writer.
    static func update(_ client: APIClient, _ name: String, _ i: Int) async throws -> ConfigMap {
        while true {
            var current = try await client.get(ConfigMap.self, namespace: "stress", name: name)
            current.data = ["i": "\(i)"]
            do { return try await client.update(current) } catch let status as Status where status.code == 409 { continue }
        }
    }
}
