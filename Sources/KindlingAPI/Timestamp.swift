import Foundation

/// RFC 3339 timestamps as the API writes them (`2026-11-23T22:35:00Z`), without a formatter object per call.
public enum Timestamp {
    public static func string(_ date: Date = Date()) -> String { date.formatted(.iso8601) }
    public static func date(_ text: String) -> Date? { try? Date(text, strategy: .iso8601) }
}
