import Foundation
import HummingbirdWebSocket
import KindlingAPI
import NIOCore

/// `pods/{name}/exec` and `pods/{name}/attach` over WebSocket, as kubectl 1.37 speaks them: the
/// `v5.channel.k8s.io` subprotocol (or v4), binary messages whose first byte is the stream (0 stdin, 1 stdout,
/// 2 stderr, 3 the final Status, 4 resize, 255 a v5 close of the stream in the next byte). An exec runs through
/// `kindling exec`, the same binary's own verb, which enters the pod's namespaces with its container's
/// environment: server and pods share this machine, so no hop through the node's agent is needed. An attach
/// relays what the container writes from then on until it ends (`kubectl run -i`); the container's standard
/// input is not connected (agents start containers without one).
public enum PodExec {
    public static let subprotocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]

    public struct Request: Equatable, Sendable {
        public var namespace: String
        public var pod: String
        public var container: String?
        public var command: [String]
        public var stdin = false
        public var tty = false
        /// An attach to the container's own process rather than a new command.
        public var attach = false

        public init(namespace: String, pod: String, container: String?, command: [String], stdin: Bool, tty: Bool, attach: Bool = false) {
            self.namespace = namespace
            self.pod = pod
            self.container = container
            self.command = command
            self.stdin = stdin
            self.tty = tty
            self.attach = attach
        }
    }

    /// The exec request in a path like `/api/v1/namespaces/dev/pods/web/exec?command=sh&command=-c&...` (its
    /// repeated `command` parameters in order), or nil when the path is no exec. Pure.
    public static func parse(_ target: String) -> Request? {
        guard let components = URLComponents(string: target) else { return nil }
        let parts = components.path.split(separator: "/").map(String.init)
        guard parts.count == 7, parts[0] == "api", parts[1] == "v1", parts[2] == "namespaces", parts[4] == "pods",
              parts[6] == "exec" || parts[6] == "attach"
        else { return nil }
        // Go clients encode query values as forms do: a space is a `+`.
        let items = (components.percentEncodedQueryItems ?? []).map { item in
            URLQueryItem(name: item.name, value: item.value?.replacingOccurrences(of: "+", with: "%20").removingPercentEncoding)
        }
        func flag(_ name: String) -> Bool { items.contains { $0.name == name && ($0.value == "true" || $0.value == "1") } }
        return Request(namespace: parts[3], pod: parts[5], container: items.first { $0.name == "container" }?.value,
                       command: items.filter { $0.name == "command" }.compactMap(\.value), stdin: flag("stdin"), tty: flag("tty"),
                       attach: parts[6] == "attach")
    }

    /// The subprotocol to answer with: the first of ours the client offers.
    public static func subprotocol(offered header: String?) -> String? {
        let offered = (header ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return subprotocols.first { offered.contains($0) }
    }

    /// The Status sent on stream 3 at the end, as the kubelet words it (kubectl prints "command terminated
    /// with exit code N" and exits with N). Pure.
    public static func finalStatus(exitCode: Int32, command: [String]) -> Data {
        let status: [String: Any] = exitCode == 0 ? ["metadata": [String: Any](), "status": "Success"] : [
            "metadata": [String: Any](), "status": "Failure", "reason": "NonZeroExitCode",
            "message": "command terminated with non-zero exit code: error executing command [\(command.joined(separator: " "))], exit code \(exitCode)",
            "details": ["causes": [["reason": "ExitCode", "message": String(exitCode)]]],
        ]
        return (try? JSONSerialization.data(withJSONObject: status, options: [.sortedKeys])) ?? Data()
    }

    /// Runs the command and relays its streams until it exits.
    static func run(_ request: Request, cluster: String, inbound: WebSocketInboundStream,
                    outbound: WebSocketOutboundWriter) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // Options before the pod: what follows it is the command's.
        process.arguments = ["exec", "--name", cluster, "-n", request.namespace] + (request.container.map { ["-c", $0] } ?? [])
            + [request.pod, "--"] + request.command
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = request.stdin ? input : FileHandle.nullDevice
        process.standardOutput = output
        // With a TTY the terminal carries both streams, as one.
        process.standardError = request.tty ? output : errors
        let exited = AsyncStream<Int32> { continuation in
            process.terminationHandler = { continuation.yield($0.terminationStatus); continuation.finish() }
        }
        try process.run()
        try? output.fileHandleForWriting.close()
        try? errors.fileHandleForWriting.close()

        let writer = StreamWriter(outbound: outbound)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.relay(output.fileHandleForReading, stream: 1) }
            group.addTask { try await writer.relay(errors.fileHandleForReading, stream: 2) }
            // Standard input until the client closes it (v5) or goes; the command's exit ends this task. Pipe
            // writes block while the command does not read: they go on a queue of their own, off the pool.
            let stdinQueue = DispatchQueue(label: "kindling.exec.stdin")
            let reader = Task {
                let stdin = input.fileHandleForWriting
                defer { stdinQueue.async { try? stdin.close() } }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .binary(var buffer) = message, let stream = buffer.readInteger(as: UInt8.self) else { continue }
                    switch stream {
                    case 0 where request.stdin:
                        let data = Data(buffer.readableBytesView)
                        stdinQueue.async { try? stdin.write(contentsOf: data) }
                    case 255 where buffer.readInteger(as: UInt8.self) == 0: return
                    default: continue
                    }
                }
                // The client went: so does the command.
                if process.isRunning { process.terminate() }
            }
            try await group.waitForAll()
            var status: Int32 = 1
            for await code in exited { status = code }
            reader.cancel()
            try await writer.send(stream: 3, Data(finalStatus(exitCode: status, command: request.command)))
        }
        try await outbound.close(.normalClosure, reason: nil)
    }

    /// Relays the container's output from now until the container ends.
    static func attach(_ log: ContainerLog, after reads: ContainerLog.ReadPositions, inbound: WebSocketInboundStream,
                       outbound: WebSocketOutboundWriter) async throws {
        let writer = StreamWriter(outbound: outbound)
        // Input is read and dropped: nothing in the container reads it.
        let drain = Task { for try await _ in inbound.messages(maxSize: 1 << 20) {} }
        defer { drain.cancel() }
        if let handle = log.open() {
            // What the container writes from now on, as an attach to a running process sees it; or from where a
            // read of the log a moment ago ended (kubectl run -i prints the log so far, then attaches).
            let end = handle.seekToEndOfFile()
            if let read = reads.recent(log), read <= end { handle.seek(toFileOffset: read) }
            for await chunk in log.follow(handle) where !chunk.isEmpty { try await writer.send(stream: 1, chunk) }
        }
        // The end of the output, not the container's exit code: kubectl reads that from the pod (as the kubelet's
        // attach gives none), and would take a failure here for a broken attach.
        try await writer.send(stream: 3, finalStatus(exitCode: 0, command: []))
        try await outbound.close(.normalClosure, reason: nil)
    }

    /// Writes output to the WebSocket, one message per read, prefixed by its stream's number.
    struct StreamWriter: Sendable {
        let outbound: WebSocketOutboundWriter

        func send(stream: UInt8, _ data: Data) async throws {
            var buffer = ByteBuffer()
            buffer.writeInteger(stream)
            buffer.writeBytes(data)
            try await outbound.write(.binary(buffer))
        }

        /// Everything from `handle` until its end (read off the cooperative pool, through readability callbacks).
        func relay(_ handle: FileHandle, stream: UInt8) async throws {
            let chunks = AsyncStream<Data> { continuation in
                handle.readabilityHandler = { handle in
                    let data = handle.availableData
                    if data.isEmpty {
                        handle.readabilityHandler = nil
                        continuation.finish()
                    } else {
                        continuation.yield(data)
                    }
                }
                continuation.onTermination = { _ in handle.readabilityHandler = nil }
            }
            for await chunk in chunks { try await send(stream: stream, chunk) }
        }
    }
}
