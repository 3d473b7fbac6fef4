import Foundation
import KindlingNet

/// Unix stream sockets by path, with blocking calls: for the few long-lived connections between the API
/// server and the agents on this machine (a container's standard input).
public enum UnixSocket {
    /// A listening socket at `path` (an old socket file there is replaced).
    public static func listen(_ path: String) throws -> Int32 {
        unlink(path)
        let fd = try syscall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            _ = try withAddress(path) { address, length in try syscall("bind \(path)") { bind(fd, address, length) } }
            _ = try syscall("listen \(path)") { Glibc.listen(fd, 8) }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    public static func connect(_ path: String) throws -> Int32 {
        let fd = try syscall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            _ = try withAddress(path) { address, length in try syscall("connect \(path)") { Glibc.connect(fd, address, length) } }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// The next connection, or nil once the socket is shut down.
    public static func accept(_ fd: Int32) -> Int32? {
        while true {
            let connection = Glibc.accept(fd, nil, nil)
            if connection >= 0 {
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                return connection
            }
            if errno != EINTR && errno != ECONNABORTED { return nil }
        }
    }

    /// Writes all of `data`; false when the other end is gone.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }

    /// What one read returns; empty at the end (or an error, such as a terminal whose other side closed).
    public static func read(_ fd: Int32, max: Int = 65_536) -> Data {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let count = Glibc.read(fd, &buffer, max)
            if count < 0 && errno == EINTR { continue }
            return count > 0 ? Data(buffer[0..<count]) : Data()
        }
    }

    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) throws -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw SystemError("socket path too long: \(path)", errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
