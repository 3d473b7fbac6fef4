/// A domain name as its labels (RFC 1035 §3.1), compared without regard to ASCII case (RFC 4343).
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The labels as they came, outermost last; the root name has none.
    public let labels: [[UInt8]]
    /// The labels in lower case: what equality, hashing and compression compare (made once: names are
    /// compared on every lookup).
    let folded: [[UInt8]]

    public static let root = DNSName(unchecked: [])
    /// A name is at most 255 bytes on the wire, a label at most 63.
    public static let maxLength = 255
    public static let maxLabelLength = 63

    public init(labels: [[UInt8]]) throws(DNSError) {
        for label in labels where label.isEmpty || label.count > DNSName.maxLabelLength {
            throw .malformed("a label must be 1 to 63 bytes")
        }
        guard labels.reduce(1, { $0 + $1.count + 1 }) <= DNSName.maxLength else { throw .malformed("a name must be at most 255 bytes") }
        self.init(unchecked: labels)
    }

    init(unchecked labels: [[UInt8]]) {
        self.labels = labels
        folded = labels.map { $0.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 } }
    }

    /// `my-svc.default.svc.cluster.local` or with a trailing dot; `.` is the root.
    public init(_ text: String) throws(DNSError) {
        let trimmed = text.hasSuffix(".") ? String(text.dropLast()) : text
        try self.init(labels: trimmed.isEmpty ? [] : trimmed.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) })
    }

    /// Bytes on the wire: each label with its length byte, and the root's zero byte.
    public var wireLength: Int { labels.reduce(1) { $0 + $1.count + 1 } }

    /// With a trailing dot, bytes outside letters, digits, `-` and `_` written as `\DDD`.
    public var description: String {
        guard !labels.isEmpty else { return "." }
        return labels.map { label in
            label.map { byte -> String in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "*"):
                    return String(UnicodeScalar(byte))
                default:
                    let digits = String(byte)
                    return "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }.joined()
        }.joined(separator: ".") + "."
    }

    public static func == (a: DNSName, b: DNSName) -> Bool { a.folded == b.folded }
    public func hash(into hasher: inout Hasher) { hasher.combine(folded) }

    /// Whether this name is `other` or lies below it.
    public func isSubdomain(of other: DNSName) -> Bool {
        labels.count >= other.labels.count && folded.suffix(other.labels.count).elementsEqual(other.folded)
    }

    /// The labels before `suffix` (which this name must be under), outermost last.
    public func labels(under suffix: DNSName) -> [String] {
        labels.dropLast(suffix.labels.count).map { String(decoding: $0, as: UTF8.self).lowercased() }
    }

    /// `label` prepended: `web` + `dev.svc.cluster.local`.
    public func prepending(_ label: String) throws(DNSError) -> DNSName {
        try DNSName(labels: [Array(label.utf8)] + labels)
    }
}

public enum DNSError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let why): "malformed DNS message: \(why)"
        }
    }
}
