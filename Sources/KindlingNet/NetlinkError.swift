import CNetlink

/// A failed libnl call: the operation and libnl's own error code (NLE_*), classified for callers.
public struct NetlinkError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code < 0 ? -code : code
    }

    public var isExists: Bool { code == NLE_EXIST }
    public var isNotFound: Bool { code == NLE_OBJ_NOTFOUND || code == NLE_NODEV || code == NLE_NOADDR }

    public var description: String { "\(operation): \(String(cString: nl_geterror(code)))" }
}

/// Calls libnl, turning a negative result into a `NetlinkError`; EINTR is retried inside libnl itself.
@discardableResult
func nl(_ operation: @autoclosure () -> String, _ call: () -> Int32) throws -> Int32 {
    let result = call()
    if result < 0 { throw NetlinkError(operation(), code: result) }
    return result
}
