import Foundation
import HummingbirdWebSocket
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingProcess
import NIOCore

/// `pods/{name}/exec` and `pods/{name}/attach` over WebSocket, as kubectl 1.37 speaks them: the
/// `v5.channel.k8s.io` subprotocol (or v4), messages (binary or text) whose first byte is the stream (0 stdin, 1 stdout,
/// 2 stderr, 3 the final Status, 4 resize, 255 a v5 close of the stream in the next byte). An exec enters the
/// pod through `PodEntry`, as `kindling exec` does: its namespaces, with its container's environment; server and
/// pods share this machine, so no hop through the node's agent is needed; with a TTY on a terminal the server
/// makes. An attach relays what the container writes from then on until its process ends (`kubectl run -i`),
/// and the client's input to the container's stdin, which the node's agent holds (`ContainerInput`) for
/// containers with `stdin: true`.
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

    /// A client message's stream and payload. Kubernetes reads a channel message's bytes whatever the frame
    /// (`websocket.Message.Receive` into bytes), so text frames count as binary ones do: the first byte is the
    /// stream. An empty message carries nothing. Pure.
    public static func channelFrame(_ message: WebSocketMessage) -> (stream: UInt8, payload: Data)? {
        let bytes: [UInt8] = switch message {
        case .binary(let buffer): Array(buffer.readableBytesView)
        case .text(let text): Array(text.utf8)
        }
        guard let stream = bytes.first else { return nil }
        return (stream, Data(bytes.dropFirst()))
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

    /// The command's standard streams as the server holds them: a terminal of its making (both outputs as one,
    /// sized by kubectl's resize messages), or a pipe per stream.
    struct Streams {
        let stdio: PodEntry.Stdio
        let input: FileHandle
        let outputs: [(FileHandle, UInt8)]
        /// The command's ends, closed here once it runs: their closing is how the relays see it end.
        let commandEnds: [Int32]
        let terminal: Int32?

        init(tty: Bool, stdin: Bool) throws {
            if tty {
                let (primary, replica) = try Spawn.openTerminal()
                stdio = PodEntry.Stdio(input: replica, output: replica, terminal: true)
                input = FileHandle(fileDescriptor: primary, closeOnDealloc: true)
                outputs = [(input, 1)]
                commandEnds = [replica]
                terminal = primary
            } else {
                let input = try Spawn.openPipe(), output = try Spawn.openPipe(), errors = try Spawn.openPipe()
                stdio = PodEntry.Stdio(input: stdin ? input.read : nil, output: output.write, errors: errors.write)
                self.input = FileHandle(fileDescriptor: input.write, closeOnDealloc: true)
                outputs = [(FileHandle(fileDescriptor: output.read, closeOnDealloc: true), 1), (FileHandle(fileDescriptor: errors.read, closeOnDealloc: true), 2)]
                commandEnds = [input.read, output.write, errors.write]
                terminal = nil
            }
        }
    }

    /// Runs the command in the pod (`PodEntry`, as `kindling exec` does) and relays its streams until it exits;
    /// what keeps it from starting is written to its error stream with the exit status a shell would give.
    static func run(_ request: Request, pod: Pod, cluster: String, inbound: WebSocketInboundStream,
                    outbound: WebSocketOutboundWriter) async throws {
        let writer = StreamWriter(outbound: outbound)
        let streams = try Streams(tty: request.tty, stdin: request.stdin)
        let child: ChildProcess
        do {
            defer { for fd in streams.commandEnds { close(fd) } }
            child = try PodEntry(cluster: cluster, pod: pod, container: request.container)
                .start(request.command, term: request.tty ? "xterm" : nil, stdio: streams.stdio)
        } catch let failure as PodEntry.Failure {
            try await writer.send(stream: request.tty ? 1 : 2, Data("error: \(failure)\n".utf8))
            try await writer.send(stream: 3, Data(finalStatus(exitCode: failure.exitCode, command: request.command)))
            return try await outbound.close(.normalClosure, reason: nil)
        }
        // Writes to the command's input block while it does not read: they go on a queue of their own, off the
        // pool, which also closes the input after the last of them. Each output is closed by the thread reading
        // it, after its end (a terminal's on the queue, as it is also the input), never under a reading thread.
        let stdinQueue = DispatchQueue(label: "kindling.exec.stdin")
        let (input, terminal) = (streams.input, streams.terminal)
        defer { if terminal == nil { stdinQueue.async { try? input.close() } } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (handle, stream) in streams.outputs {
                let chunks = reads(handle.fileDescriptor) {
                    if terminal != nil { stdinQueue.async { try? handle.close() } } else { try? handle.close() }
                }
                group.addTask { for await chunk in chunks { try await writer.send(stream: stream, chunk) } }
            }
            let reader = Task { try await relayInput(inbound, to: input, on: stdinQueue, terminal: terminal, stdin: request.stdin, child: child) }
            try await group.waitForAll()
            let status = await child.exitCode()
            reader.cancel()
            try await writer.send(stream: 3, Data(finalStatus(exitCode: status, command: request.command)))
        }
        try await outbound.close(.normalClosure, reason: nil)
    }

    /// Standard input and resizes until the client closes its input (v5) or goes; when it goes, so does the
    /// command: a terminal hangs up, as when a terminal window closes (its foreground group, the shell, gets SIGHUP).
    static func relayInput(_ inbound: WebSocketInboundStream, to input: FileHandle, on queue: DispatchQueue, terminal: Int32?,
                           stdin: Bool, child: ChildProcess) async throws {
        // A pipe's closing is the command's end of input; a terminal stays until the command is done.
        defer { if terminal == nil { queue.async { try? input.close() } } }
        for try await message in inbound.messages(maxSize: 1 << 20) {
            guard let (stream, payload) = channelFrame(message) else { continue }
            switch stream {
            case 0 where stdin:
                queue.async { try? input.write(contentsOf: payload) }
            case 4:
                if let terminal, case .resize(let columns, let rows) = AttachFrame.resize(fromKubectl: payload) {
                    Spawn.setWindowSize(terminal, columns: columns, rows: rows)
                }
            case 255 where payload.first == 0 && terminal == nil: return
            default: continue
            }
        }
        guard child.isRunning else { return }
        if let terminal {
            let group = tcgetpgrp(terminal)
            if group > 0 { kill(-group, SIGHUP) }
        }
        child.signal(SIGTERM)
    }

    /// Relays the container's output from now until the container's process ends; with `stdin`, the client's
    /// input goes to the container's (held by its node's agent, see `ContainerInput`), and with a TTY its
    /// resize messages too.
    static func attach(_ log: ContainerLog, after reads: ContainerLog.ReadPositions, request: Request, cluster: String,
                       inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let writer = StreamWriter(outbound: outbound)
        let spec = log.pod.spec.everyContainer.first { $0.name == log.container }
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
                guard let connection, let (stream, payload) = channelFrame(message) else { continue }
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
