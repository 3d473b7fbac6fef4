import Foundation
import HummingbirdWebSocket
import KindlingAPI
import KindlingNet
import NIOCore

/// `pods/{name}/exec` and `pods/{name}/attach` over WebSocket, as kubectl 1.37 speaks them: the
/// `v5.channel.k8s.io` subprotocol (or v4), binary messages whose first byte is the stream (0 stdin, 1 stdout,
/// 2 stderr, 3 the final Status, 4 resize, 255 a v5 close of the stream in the next byte). An exec runs through
/// `kindling exec`, the same binary's own verb, which enters the pod's namespaces with its container's
/// environment: server and pods share this machine, so no hop through the node's agent is needed; with a TTY
/// on a terminal the server makes. An attach relays what the container writes from then on until its process
/// ends (`kubectl run -i`), and the client's input to the container's stdin, which the node's agent holds
/// (`ContainerInput`) for containers with `stdin: true`.
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

    /// Runs the command and relays its streams until it exits. With a TTY the command gets a terminal of the
    /// server's making (`kindling exec` makes it the controlling terminal of the command's session), which
    /// carries both output streams as one, and kubectl's resize messages set its size.
    static func run(_ request: Request, cluster: String, inbound: WebSocketInboundStream,
                    outbound: WebSocketOutboundWriter) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // Options before the pod: what follows it is the command's.
        process.arguments = ["exec", "--name", cluster, "-n", request.namespace] + (request.container.map { ["-c", $0] } ?? [])
            + [request.pod, "--"] + request.command
        let writer = StreamWriter(outbound: outbound)
        let input: FileHandle
        let outputs: [(FileHandle, UInt8)]
        /// The command's ends, closed here once it runs: their closing is how the relays see it end.
        let commandEnds: [FileHandle]
        let terminal: Int32?
        if request.tty {
            let (primary, replica) = try Spawn.openTerminal()
            terminal = primary
            let replicaHandle = FileHandle(fileDescriptor: replica, closeOnDealloc: true)
            process.standardInput = replicaHandle
            process.standardOutput = replicaHandle
            process.standardError = replicaHandle
            process.environment = ProcessInfo.processInfo.environment.merging(["TERM": "xterm"]) { _, new in new }
            input = FileHandle(fileDescriptor: primary, closeOnDealloc: true)
            outputs = [(input, 1)]
            commandEnds = [replicaHandle]
        } else {
            let stdin = Pipe(), output = Pipe(), errors = Pipe()
            terminal = nil
            process.standardInput = request.stdin ? stdin : FileHandle.nullDevice
            process.standardOutput = output
            process.standardError = errors
            input = stdin.fileHandleForWriting
            outputs = [(output.fileHandleForReading, 1), (errors.fileHandleForReading, 2)]
            commandEnds = [stdin.fileHandleForReading, output.fileHandleForWriting, errors.fileHandleForWriting]
        }
        let exited = AsyncStream<Int32> { continuation in
            process.terminationHandler = { continuation.yield($0.terminationStatus); continuation.finish() }
        }
        do {
            defer { for handle in commandEnds { try? handle.close() } }
            try process.run()
        }
        // Writes to the command's input block while it does not read: they go on a queue of their own, off the
        // pool, which also closes the input after the last of them. Each output is closed by the thread reading
        // it, after its end (a terminal's on the queue, as it is also the input), never under a reading thread.
        let stdinQueue = DispatchQueue(label: "kindling.exec.stdin")
        defer { if terminal == nil { stdinQueue.async { try? input.close() } } }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (handle, stream) in outputs {
                let chunks = reads(handle.fileDescriptor) {
                    if terminal != nil { stdinQueue.async { try? handle.close() } } else { try? handle.close() }
                }
                group.addTask { for await chunk in chunks { try await writer.send(stream: stream, chunk) } }
            }
            // Standard input until the client closes it (v5) or goes; the command's exit ends this task.
            let reader = Task {
                // A pipe's closing is the command's end of input; a terminal stays until the command is done.
                defer { if terminal == nil { stdinQueue.async { try? input.close() } } }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .binary(var buffer) = message, let stream = buffer.readInteger(as: UInt8.self) else { continue }
                    switch stream {
                    case 0 where request.stdin:
                        let data = Data(buffer.readableBytesView)
                        stdinQueue.async { try? input.write(contentsOf: data) }
                    case 4:
                        if let terminal, case .resize(let columns, let rows) = AttachFrame.resize(fromKubectl: Data(buffer.readableBytesView)) {
                            Spawn.setWindowSize(terminal, columns: columns, rows: rows)
                        }
                    case 255 where buffer.readInteger(as: UInt8.self) == 0 && terminal == nil: return
                    default: continue
                    }
                }
                // The client went: so does the command. A terminal hangs up, as when a terminal window closes: its
                // session's foreground group (the shell) gets SIGHUP.
                guard process.isRunning else { return }
                if let terminal {
                    let group = tcgetpgrp(terminal)
                    if group > 0 { kill(-group, SIGHUP) }
                }
                process.terminate()
            }
            try await group.waitForAll()
            var status: Int32 = 1
            for await code in exited { status = code }
            reader.cancel()
            try await writer.send(stream: 3, Data(finalStatus(exitCode: status, command: request.command)))
        }
        try await outbound.close(.normalClosure, reason: nil)
    }

    /// Relays the container's output from now until the container's process ends; with `stdin`, the client's
    /// input goes to the container's (held by its node's agent, see `ContainerInput`), and with a TTY its
    /// resize messages too.
    static func attach(_ log: ContainerLog, after reads: ContainerLog.ReadPositions, request: Request, cluster: String,
                       inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let writer = StreamWriter(outbound: outbound)
        let spec = log.pod.spec.containers.first { $0.name == log.container }
        let tty = spec?.tty == true
        var connection: Int32?
        if request.stdin, spec?.stdin == true, let uid = log.pod.metadata.uid {
            connection = try? UnixSocket.connect(ClusterNames(cluster: cluster).containerInputSocket(uid: uid, container: log.container))
        }
        let input = Task { [connection] in
            // Writes wait while the container does not read its input: they go on a queue of their own, off the
            // pool, which also closes the connection after the last of them.
            let queue = DispatchQueue(label: "kindling.attach.input")
            defer { if let connection { queue.async { close(connection) } } }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard let connection, case .binary(var buffer) = message, let stream = buffer.readInteger(as: UInt8.self) else { continue }
                let payload = Data(buffer.readableBytesView)
                let frame: AttachFrame? = switch stream {
                case 0: .input(payload)
                case 4: AttachFrame.resize(fromKubectl: payload)
                case 255 where payload.first == 0: .endOfInput
                default: nil
                }
                if let frame { queue.async { UnixSocket.writeAll(connection, frame.encoded()) } }
            }
        }
        defer { input.cancel() }
        let process = log.pod.status?.containerStatuses?.first { $0.name == log.container }?.containerID
        if let handle = log.open() {
            // What the container writes from now on, as an attach to a running process sees it; or from where a
            // read of the log a moment ago ended (kubectl run -i prints the log so far, then attaches).
            let end = handle.seekToEndOfFile()
            if let read = reads.recent(log), read <= end { handle.seek(toFileOffset: read) }
            // A terminal echoes what is typed: read often enough that typing feels immediate.
            for await chunk in log.follow(handle, every: tty ? .milliseconds(15) : .milliseconds(100), process: process) where !chunk.isEmpty {
                try await writer.send(stream: 1, chunk)
            }
        }
        // The end of the output, not the container's exit code: kubectl reads that from the pod (as the kubelet's
        // attach gives none), and would take a failure here for a broken attach.
        try await writer.send(stream: 3, finalStatus(exitCode: 0, command: []))
        try await outbound.close(.normalClosure, reason: nil)
    }

    /// What one descriptor yields until its end (a pipe's writers gone, a terminal's other side closed), read by
    /// a thread of its own, which then calls `ended` (read on even when nobody listens any more, so the
    /// descriptor is never closed under it).
    static func reads(_ fd: Int32, ended: @escaping @Sendable () -> Void) -> AsyncStream<Data> {
        AsyncStream { continuation in
            Thread.detachNewThread {
                while true {
                    let data = UnixSocket.read(fd)
                    if data.isEmpty { break }
                    continuation.yield(data)
                }
                continuation.finish()
                ended()
            }
        }
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
    }
}
