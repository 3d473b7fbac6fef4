import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingProcess

/// A container's standard input, held as a container runtime holds it for `kubectl attach -i` and `run -i`:
/// a pipe, or for `tty: true` a terminal whose output the agent copies into the container's log (where
/// `logs` and attach read it, as for any container). Attached clients reach it through a unix socket
/// (`ClusterNames.containerInputSocket`) in `AttachFrame`s; all of them type into the same input. With
/// stdinOnce the input ends with the first client's: a pipe is closed (the container reads end-of-file), a
/// terminal gets its end-of-file character. Clients and the terminal are served on threads of their own, so
/// a container that does not read never holds up the agent.
final class ContainerInput: @unchecked Sendable {
    let terminal: Bool
    let once: Bool
    /// The container's end: its stdin, and for a terminal its stdout and stderr too. The agent closes its copy
    /// once the container has started.
    let containerEnd: Int32
    /// The pipe's write end or the terminal's primary side.
    private let ownEnd: Int32
    private let listener: Int32
    private let socketPath: String
    /// Guards the clients' connections and `closed`; never held while doing I/O.
    private let lock = NSLock()
    private var connections: Set<Int32> = []
    private var closed = false
    /// Owns `ownEnd`: every write, resize and the closing happen here in turn, so no write reaches a descriptor
    /// number reused since, and a write blocked on a container that does not read holds up only this queue.
    private let queue = DispatchQueue(label: "kindling.container-input")
    private var inputEnded = false
    private var ownEndClosed = false

    init(socketPath: String, terminal: Bool, once: Bool, logPath: String) throws {
        self.terminal = terminal
        self.once = once
        self.socketPath = socketPath
        if terminal {
            (ownEnd, containerEnd) = try Spawn.openTerminal()
        } else {
            (containerEnd, ownEnd) = try Spawn.openPipe()
        }
        do {
            try FileManager.default.createDirectory(atPath: (socketPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            listener = try UnixSocket.listen(socketPath)
        } catch {
            Glibc.close(ownEnd)
            Glibc.close(containerEnd)
            throw error
        }
        Thread.detachNewThread { [self] in acceptClients() }
        if terminal { Thread.detachNewThread { [self] in copyTerminalOutput(to: logPath) } }
    }

    /// Ends it all: no more clients, the connected ones dropped. Never waits (a write may be blocked until the
    /// container is killed).
    func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        unlink(socketPath)
        shutdown(listener, Int32(SHUT_RDWR))
        for connection in connections { shutdown(connection, Int32(SHUT_RDWR)) }
        // A terminal's primary side is closed by its output thread, which reads it until the container's side is gone.
        if !terminal { queue.async { self.closeOwnEnd() } }
    }

    /// On `queue` only.
    private func closeOwnEnd() {
        guard !ownEndClosed else { return }
        ownEndClosed = true
        Glibc.close(ownEnd)
    }

    private func acceptClients() {
        while let connection = UnixSocket.accept(listener) {
            lock.lock()
            if closed {
                lock.unlock()
                Glibc.close(connection)
                break
            }
            connections.insert(connection)
            lock.unlock()
            Thread.detachNewThread { [self] in serve(connection) }
        }
        Glibc.close(listener)
    }

    /// One client's frames until it goes; its going ends its input.
    private func serve(_ connection: Int32) {
        var buffer = Data()
        reading: while true {
            let data = UnixSocket.read(connection)
            if data.isEmpty { break }
            buffer.append(data)
            guard let frames = AttachFrame.decode(&buffer) else { break }
            for frame in frames {
                switch frame {
                case .input(let bytes): write(bytes)
                case .resize(let columns, let rows): resize(columns: columns, rows: rows)
                case .endOfInput: break reading
                }
            }
        }
        endInput()
        lock.lock()
        connections.remove(connection)
        lock.unlock()
        Glibc.close(connection)
    }

    private func write(_ bytes: Data) {
        queue.async { [self] in
            guard !inputEnded, !ownEndClosed else { return }
            UnixSocket.writeAll(ownEnd, bytes)
        }
    }

    private func resize(columns: UInt16, rows: UInt16) {
        queue.async { [self] in
            guard terminal, !ownEndClosed, columns > 0, rows > 0 else { return }
            Spawn.setWindowSize(ownEnd, columns: columns, rows: rows)
        }
    }

    /// A client's input ended: with stdinOnce, so does the container's.
    private func endInput() {
        queue.async { [self] in
            guard once, !inputEnded, !ownEndClosed else { return }
            inputEnded = true
            if terminal {
                // ^D at the start of a line: what a terminal's end of input is to the program reading it.
                UnixSocket.writeAll(ownEnd, Data([0x15, 0x04]))
            } else {
                closeOwnEnd()
            }
        }
    }

    /// What the container writes to its terminal, into its log, until the container's side is gone.
    private func copyTerminalOutput(to logPath: String) {
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        while true {
            let data = UnixSocket.read(ownEnd)
            if data.isEmpty { break }
            if log >= 0 { UnixSocket.writeAll(log, data) }
        }
        if log >= 0 { Glibc.close(log) }
        queue.async { self.closeOwnEnd() }
    }
}
