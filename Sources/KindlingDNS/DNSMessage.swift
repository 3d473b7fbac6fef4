import KindlingAddresses
import KindlingAPI

/// A DNS message (RFC 1035 §4) with EDNS(0) (RFC 6891): what the cluster DNS server reads and writes.
public struct DNSMessage: Hashable, Sendable {
    public struct Header: Hashable, Sendable {
        public var id: UInt16
        public var isResponse = false
        public var opcode: UInt8 = 0
        public var authoritative = false
        public var truncated = false
        public var recursionDesired = false
        public var recursionAvailable = false
        public var authenticData = false
        public var checkingDisabled = false
        /// The low 4 bits of the response code; EDNS carries the high 8.
        public var rcode: UInt8 = 0

        public init(id: UInt16) { self.id = id }
    }

    public struct Question: Hashable, Sendable {
        public var name: DNSName
        public var type: RecordType
        public var recordClass: UInt16

        public init(name: DNSName, type: RecordType, recordClass: UInt16 = DNSMessage.classIN) {
            self.name = name
            self.type = type
            self.recordClass = recordClass
        }
    }

    public struct Record: Hashable, Sendable {
        public var name: DNSName
        public var recordClass: UInt16
        public var ttl: UInt32
        public var data: RecordData

        public init(name: DNSName, ttl: UInt32, data: RecordData, recordClass: UInt16 = DNSMessage.classIN) {
            self.name = name
            self.recordClass = recordClass
            self.ttl = ttl
            self.data = data
        }

        public var type: RecordType { data.type }
    }

    /// The OPT pseudo-record's contents.
    public struct EDNS: Hashable, Sendable {
        public var udpPayloadSize: UInt16
        public var extendedRCode: UInt8 = 0
        public var version: UInt8 = 0
        public var dnssecOK = false
        public var options: [Option] = []

        public struct Option: Hashable, Sendable {
            public var code: UInt16
            public var data: [UInt8]
        }

        public init(udpPayloadSize: UInt16) { self.udpPayloadSize = udpPayloadSize }
    }

    public static let classIN: UInt16 = 1
    /// The size a UDP answer may have without EDNS (RFC 1035 §4.2.1).
    public static let classicUDPSize = 512

    public var header: Header
    public var questions: [Question] = []
    public var answers: [Record] = []
    public var authorities: [Record] = []
    /// Additional records other than OPT.
    public var additionals: [Record] = []
    public var edns: EDNS?

    public init(header: Header) { self.header = header }

    /// The full response code: 4 bits in the header, 8 more in EDNS.
    public var responseCode: ResponseCode {
        ResponseCode(rawValue: UInt16(edns?.extendedRCode ?? 0) << 4 | UInt16(header.rcode))
    }
}

/// Record types by number; unknown ones keep their number.
public struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = RecordType(rawValue: 1)
    public static let ns = RecordType(rawValue: 2)
    public static let cname = RecordType(rawValue: 5)
    public static let soa = RecordType(rawValue: 6)
    public static let ptr = RecordType(rawValue: 12)
    public static let mx = RecordType(rawValue: 15)
    public static let txt = RecordType(rawValue: 16)
    public static let aaaa = RecordType(rawValue: 28)
    public static let srv = RecordType(rawValue: 33)
    public static let opt = RecordType(rawValue: 41)
    public static let any = RecordType(rawValue: 255)

    static let names: [UInt16: String] = [1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 41: "OPT", 255: "ANY"]
    public var description: String { RecordType.names[rawValue] ?? "TYPE\(rawValue)" }
}

public struct ResponseCode: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = ResponseCode(rawValue: 0)
    public static let formatError = ResponseCode(rawValue: 1)
    public static let serverFailure = ResponseCode(rawValue: 2)
    public static let nameError = ResponseCode(rawValue: 3)
    public static let notImplemented = ResponseCode(rawValue: 4)
    public static let refused = ResponseCode(rawValue: 5)
    public static let badVersion = ResponseCode(rawValue: 16)
}

public struct SOA: Hashable, Sendable {
    public var primary: DNSName
    public var mailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(primary: DNSName, mailbox: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.primary = primary
        self.mailbox = mailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

public enum RecordData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa([UInt8])
    case cname(DNSName)
    case ns(DNSName)
    case ptr(DNSName)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case soa(SOA)
    case txt([[UInt8]])
    /// Any other type, its data as it came.
    case other(RecordType, [UInt8])

    public var type: RecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .cname: .cname
        case .ns: .ns
        case .ptr: .ptr
        case .srv: .srv
        case .soa: .soa
        case .txt: .txt
        case .other(let type, _): type
        }
    }
}
