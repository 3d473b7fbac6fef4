import Foundation
import KindlingAPI

/// What `kubectl get` prints: headers and rows from the kind's printer (`Printers`), laid out as kubectl does.
public struct ObjectTable: Equatable, Sendable {
    public var headers: [String]
    public var rows: [[String]]

    public init(headers: [String], rows: [[String]]) {
        self.headers = headers
        self.rows = rows
    }

    /// kubectl's text layout: columns padded to their widest cell, three spaces apart.
    public var text: String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padding(toLength length: Int) -> String { self + String(repeating: " ", count: max(0, length - count)) }
    var nonEmpty: String? { isEmpty ? nil : self }
}

public enum Printing {
    /// The first three of a list and how many more, as kubectl shows endpoints; nil for none.
    static func abbreviated(_ items: [String]) -> String? {
        guard !items.isEmpty else { return nil }
        return items.prefix(3).joined(separator: ",") + (items.count > 3 ? " + \(items.count - 3) more..." : "")
    }

    static func containerColumns(_ spec: PodSpec?) -> [String] {
        let containers = spec?.containers ?? []
        return [containers.map(\.name).joined(separator: ","), containers.map { $0.image ?? "" }.joined(separator: ",")]
    }

    /// kubectl's HumanDuration: 45s, 3m20s, 15m, 5h10m, 20h, 3d4h, 90d, 2y30d.
    public static func humanDuration(seconds: Int) -> String {
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 { return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h" }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let days = (hours / 24) % 365
            return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d"
        }
        return "\(hours / 24 / 365)y"
    }
}

/// Container output as `logs --tail` cuts it.
public enum LogText {
    /// The last `count` lines of a file before `end`, read backwards in chunks rather than whole; the handle is
    /// left at `end`.
    public static func lastLines(of handle: FileHandle, _ count: Int, end: UInt64, chunk: UInt64 = 64 * 1024) -> Data {
        var start = end, buffer = Data(), newlines = 0
        while start > 0, newlines <= count {
            let from = start > chunk ? start - chunk : 0
            handle.seek(toFileOffset: from)
            let piece = handle.readData(ofLength: Int(start - from))
            newlines += piece.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            buffer = piece + buffer
            start = from
        }
        handle.seek(toFileOffset: end)
        return lastLines(buffer, count)
    }

    /// The last `count` lines of `text` (a final line without a newline counts as one).
    public static func lastLines(_ text: Data, _ count: Int) -> Data {
        guard count > 0 else { return Data() }
        var end = text.endIndex
        if end > text.startIndex, text[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var seen = 0, index = end
        while index > text.startIndex {
            if text[index - 1] == UInt8(ascii: "\n") {
                seen += 1
                if seen == count { return text[index...] }
            }
            index -= 1
        }
        return text
    }
}
