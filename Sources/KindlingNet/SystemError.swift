#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, with the operation and errno kept so callers can classify it.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let errno: Int32

    public init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    public var isNotFound: Bool { errno == ENOENT }
    public var isExists: Bool { errno == EEXIST }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}

/// Runs a system call, retrying on EINTR; a negative result becomes a `SystemError`.
@discardableResult
public func syscall(_ operation: @autoclosure () -> String, _ call: () -> Int32) throws -> Int32 {
    while true {
        let result = call()
        if result >= 0 { return result }
        if errno == EINTR { continue }
        throw SystemError(operation())
    }
}
