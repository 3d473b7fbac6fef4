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
        }

        public let key: [Field]
        /// Empty for a set.
        public let value: [Field]

        public init(key: [Field], value: [Field] = []) {
            self.key = key
            self.value = value
        }

        /// The bytes of `text` as the kernel stores it: in a concatenation every field takes a multiple of four
        /// bytes (nf_tables registers are 32 bits), zero-padded. Nil when the text does not fit the fields.
        static func encode(_ text: String, _ fields: [Field]) -> [UInt8]? {
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
                    guard let proto = ServicePort.Proto(rawValue: part) else { return nil }
                    encoded = [proto == .tcp ? 6 : 17]
                case .port:
                    guard let port = UInt16(part) else { return nil }
                    encoded = withUnsafeBytes(of: port.bigEndian, Array.init)
                case .slot:
                    guard let slot = UInt32(part) else { return nil }
                    encoded = withUnsafeBytes(of: slot, Array.init)
                }
                if fields.count > 1 { encoded += Array(repeating: 0, count: (4 - encoded.count % 4) % 4) }
                bytes += encoded
            }
            return bytes
        }
    }
}
