import Foundation
import KindlingAddresses
import KindlingAPI

extension NftTable {
    /// How a set's keys and values are stored in the kernel, so that its elements can be written as raw
    /// nfnetlink: which field each ` . `-separated part of the text is.
    public struct ElementLayout: Hashable, Sendable {
        public enum Field: Hashable, Sendable {
            case ipv4
            /// `tcp` or `udp`, one byte.
            case proto
            /// A port, two bytes in network order.
            case port
            /// A numgen result, four bytes in host order.
            case slot

            var size: Int {
                switch self {
                case .ipv4, .slot: 4
                case .port: 2
                case .proto: 1
                }
            }
        }

        public let key: [Field]
        /// Empty for a set.
        public let value: [Field]

        public init(key: [Field], value: [Field] = []) {
            self.key = key
            self.value = value
        }

        /// The layout a set's declaration gives its elements (`type ipv4_addr . inet_service ;`, or `typeof ip
        /// daddr . th dport : ...`), as the kernel works it out; nil when a field has another type (a verdict,
        /// an interval), whose elements go as text only.
        public init?(declaration: String) {
            let statement = declaration.split(separator: ";").first.map(String.init) ?? ""
            var words = statement.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let first = words.first, first == "type" || first == "typeof" else { return nil }
            words.removeFirst()
            let sides = words.joined(separator: " ").components(separatedBy: " : ")
            guard (1...2).contains(sides.count), let key = Self.fields(sides[0]) else { return nil }
            let value = sides.count == 2 ? Self.fields(sides[1]) : []
            guard let value else { return nil }
            self.init(key: key, value: value)
        }

        static func fields(_ text: String) -> [Field]? {
            let fields = text.components(separatedBy: " . ").map { part -> Field? in
                switch part.trimmingCharacters(in: .whitespaces) {
                case "ipv4_addr", "ip daddr", "ip saddr": .ipv4
                case "inet_proto", "meta l4proto": .proto
                case "inet_service", "th dport", "th sport": .port
                case let numgen where numgen.hasPrefix("numgen "): .slot
                default: nil
                }
            }
            guard !fields.contains(nil) else { return nil }
            return fields.compactMap { $0 }
        }

        /// The bytes of `text` as the kernel stores it: in a concatenation every field takes a multiple of four
        /// bytes (nf_tables registers are 32 bits), zero-padded. Nil when the text does not fit the fields.
        public static func encode(_ text: String, _ fields: [Field]) -> [UInt8]? {
            let parts = text.components(separatedBy: " . ")
            guard !fields.isEmpty, parts.count == fields.count else { return nil }
            var bytes: [UInt8] = []
            for (part, field) in zip(parts, fields) {
                var encoded: [UInt8]
                switch field {
                case .ipv4:
                    guard let address = IPv4Address(part) else { return nil }
                    encoded = withUnsafeBytes(of: address.value.bigEndian, Array.init)
                case .proto:
                    guard let number = ["tcp": 6, "udp": 17][part] else { return nil }
                    encoded = [UInt8(number)]
                case .port:
                    guard let port = UInt16(part) else { return nil }
                    encoded = withUnsafeBytes(of: port.bigEndian, Array.init)
                case .slot:
                    guard let slot = UInt32(part) else { return nil }
                    encoded = withUnsafeBytes(of: slot, Array.init)
                }
                if fields.count > 1 { encoded += Array(repeating: 0, count: padding(field)) }
                bytes += encoded
            }
            return bytes
        }

        /// The text of bytes `encode` made (the form `nft list` prints); nil when their length does not fit.
        public static func decode(_ bytes: [UInt8], _ fields: [Field]) -> String? {
            let sizes = fields.map { $0.size + (fields.count > 1 ? padding($0) : 0) }
            guard !fields.isEmpty, sizes.reduce(0, +) == bytes.count else { return nil }
            var parts: [String] = []
            var offset = 0
            for (field, size) in zip(fields, sizes) {
                let part = Array(bytes[offset..<offset + field.size])
                offset += size
                switch field {
                case .ipv4: parts.append(part.map(String.init).joined(separator: "."))
                case .proto:
                    guard let name = [6: "tcp", 17: "udp"][part[0]] else { return nil }
                    parts.append(name)
                case .port: parts.append(String(UInt16(part[0]) << 8 | UInt16(part[1])))
                case .slot: parts.append(String(part.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
                }
            }
            return parts.joined(separator: " . ")
        }

        private static func padding(_ field: Field) -> Int { (4 - field.size % 4) % 4 }
    }
}
