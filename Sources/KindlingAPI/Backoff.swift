/// Retry delays shared by every loop that talks to the API: 50 ms doubling up to 2 s, back to 50 ms after a
/// success. Short at first because the common failure is a server that is still starting (or restarting).
public struct Backoff: Sendable {
    public static let first: Duration = .milliseconds(50)
    public static let limit: Duration = .seconds(2)

    public private(set) var next: Duration = Backoff.first

    public init() {}

    /// The delay to wait now; the one after it is twice as long.
    public mutating func failed() -> Duration {
        let delay = next
        next = min(next * 2, Backoff.limit)
        return delay
    }

    public mutating func succeeded() { next = Backoff.first }
}
