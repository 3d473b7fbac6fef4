import Foundation

/// RFC 3339 timestamps as the API writes them (`2026-11-23T22:35:00Z`), without a formatter object per call.
public enum Timestamp {
    public static func string(_ date: Date = Date()) -> String { date.formatted(.iso8601) }
    public static func date(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601)) ?? (try? Date(text, strategy: precise))
    }

    /// With microseconds (`2026-11-23T22:35:00.123456Z`): RFC 3339 as Kubernetes writes trigger times.
    public static func preciseString(_ date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded(.down))
        let whole = Date(timeIntervalSince1970: seconds).formatted(.iso8601)
        return whole.dropLast() + "." + String(format: "%06d", micros) + "Z"
    }

    static let precise = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
