import KindlingAddresses
import KindlingAPI

// The wire format: reading with name decompression that cannot loop, writing with name compression.

extension DNSMessage {
    /// Parses a message. Anything malformed (short data, a label or name too long, a compression pointer
    /// that does not point backwards, trailing garbage inside a record) throws; `DNSError` says what.
    public init(parsing bytes: [UInt8]) throws(DNSError) {
        var reader = WireReader(bytes)
        var header = Header(id: try reader.u16())
        let flags = try reader.u16()
        header.isResponse = flags & 0x8000 != 0
        header.opcode = UInt8((flags >> 11) & 0xF)
        header.authoritative = flags & 0x0400 != 0
        header.truncated = flags & 0x0200 != 0
        header.recursionDesired = flags & 0x0100 != 0
        header.recursionAvailable = flags & 0x0080 != 0
        header.authenticData = flags & 0x0020 != 0
        header.checkingDisabled = flags & 0x0010 != 0
        header.rcode = UInt8(flags & 0xF)
        let counts = (try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16())
        self.init(header: header)
        for _ in 0..<counts.0 {
            questions.append(Question(name: try reader.name(), type: RecordType(rawValue: try reader.u16()), recordClass: try reader.u16()))
        }
        for _ in 0..<counts.1 { answers.append(try reader.record().record!) }
        for _ in 0..<counts.2 { authorities.append(try reader.record().record!) }
        for _ in 0..<counts.3 {
            let (record, opt) = try reader.record(allowOPT: true)
            if let opt {
                guard edns == nil else { throw .malformed("more than one OPT record") }
                edns = opt
            } else if let record {
                additionals.append(record)
            }
        }
        guard reader.atEnd else { throw .malformed("\(bytes.count - reader.offset) bytes after the last record") }
    }

    /// The message on the wire, names compressed. With `maxSize` (a UDP answer), a message that does not fit
    /// loses its records and says so with the TC bit, so the client asks again over TCP (RFC 2181 §9).
    public func encoded(maxSize: Int? = nil) -> [UInt8] {
        let full = encodedAll()
        guard let maxSize, full.count > maxSize else { return full }
        var truncated = self
        truncated.header.truncated = true
        truncated.answers = []
        truncated.authorities = []
        truncated.additionals = []
        return truncated.encodedAll()
    }

    func encodedAll() -> [UInt8] {
        var writer = WireWriter()
        writer.u16(header.id)
        var flags = UInt16(header.opcode & 0xF) << 11 | UInt16(header.rcode & 0xF)
        if header.isResponse { flags |= 0x8000 }
        if header.authoritative { flags |= 0x0400 }
        if header.truncated { flags |= 0x0200 }
        if header.recursionDesired { flags |= 0x0100 }
        if header.recursionAvailable { flags |= 0x0080 }
        if header.authenticData { flags |= 0x0020 }
        if header.checkingDisabled { flags |= 0x0010 }
        writer.u16(flags)
        writer.u16(UInt16(questions.count))
        writer.u16(UInt16(answers.count))
        writer.u16(UInt16(authorities.count))
        writer.u16(UInt16(additionals.count + (edns == nil ? 0 : 1)))
        for question in questions {
            writer.name(question.name)
            writer.u16(question.type.rawValue)
            writer.u16(question.recordClass)
        }
        for record in answers + authorities + additionals { writer.record(record) }
        if let edns {
            writer.bytes([0])
            writer.u16(RecordType.opt.rawValue)
            writer.u16(edns.udpPayloadSize)
            writer.bytes([edns.extendedRCode, edns.version])
            writer.u16(edns.dnssecOK ? 0x8000 : 0)
            let options = edns.options.flatMap { option in
                [UInt8(option.code >> 8), UInt8(option.code & 0xFF), UInt8(option.data.count >> 8), UInt8(option.data.count & 0xFF)] + option.data
            }
            writer.u16(UInt16(options.count))
            writer.bytes(options)
        }
        return writer.bytes
    }
}

struct WireReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) throws(DNSError) -> ArraySlice<UInt8> {
        guard count >= 0, offset + count <= bytes.count else { throw .malformed("message ends early") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func u8() throws(DNSError) -> UInt8 { try take(1).first! }
    mutating func u16() throws(DNSError) -> UInt16 {
        let b = try take(2)
        return UInt16(b[b.startIndex]) << 8 | UInt16(b[b.startIndex + 1])
    }
    mutating func u32() throws(DNSError) -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }

    /// A name, following compression pointers. Each pointer must point before the name it is part of began,
    /// so decompression always ends (a loop, or a pointer forward, is malformed).
    mutating func name() throws(DNSError) -> DNSName {
        var labels: [[UInt8]] = []
        var length = 1
        var position = offset
        var limit = offset  // pointers must point before this
        var jumped = false
        while true {
            guard position < bytes.count else { throw .malformed("name runs past the message") }
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0x00:
                if byte == 0 {
                    if !jumped { offset = position + 1 }
                    return DNSName(unchecked: labels)
                }
                let count = Int(byte)
                guard position + 1 + count <= bytes.count else { throw .malformed("label runs past the message") }
                length += count + 1
                guard length <= DNSName.maxLength else { throw .malformed("a name must be at most 255 bytes") }
                labels.append(Array(bytes[position + 1...position + count]))
                position += count + 1
            case 0xC0:
                guard position + 1 < bytes.count else { throw .malformed("compression pointer runs past the message") }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < limit else { throw .malformed("compression pointer does not point backwards") }
                if !jumped { offset = position + 2 }
                jumped = true
                limit = target
                position = target
            default:
                throw .malformed("unknown label type")
            }
        }
    }

    /// A resource record, or with `allowOPT` the EDNS OPT pseudo-record.
    mutating func record(allowOPT: Bool = false) throws(DNSError) -> (record: DNSMessage.Record?, opt: DNSMessage.EDNS?) {
        let name = try self.name()
        let type = RecordType(rawValue: try u16())
        let recordClass = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        let end = offset + length
        guard end <= bytes.count else { throw .malformed("record data runs past the message") }
        if type == .opt {
            guard allowOPT, name == .root else { throw .malformed("OPT record outside the additional section or not at the root") }
            var edns = DNSMessage.EDNS(udpPayloadSize: recordClass)
            edns.extendedRCode = UInt8(ttl >> 24)
            edns.version = UInt8((ttl >> 16) & 0xFF)
            edns.dnssecOK = ttl & 0x8000 != 0
            while offset < end {
                let code = try u16()
                let size = Int(try u16())
                guard offset + size <= end else { throw .malformed("EDNS option runs past its record") }
                edns.options.append(.init(code: code, data: Array(try take(size))))
            }
            return (nil, edns)
        }
        let data: RecordData
        switch type {
        case .a:
            guard length == 4 else { throw .malformed("A record of \(length) bytes") }
            data = .a(IPv4Address(try u32()))
        case .aaaa:
            guard length == 16 else { throw .malformed("AAAA record of \(length) bytes") }
            data = .aaaa(Array(try take(16)))
        case .cname: data = .cname(try self.name())
        case .ns: data = .ns(try self.name())
        case .ptr: data = .ptr(try self.name())
        case .srv: data = .srv(priority: try u16(), weight: try u16(), port: try u16(), target: try self.name())
        case .soa:
            data = .soa(SOA(primary: try self.name(), mailbox: try self.name(), serial: try u32(), refresh: try u32(),
                            retry: try u32(), expire: try u32(), minimum: try u32()))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end { strings.append(Array(try take(Int(try u8())))) }
            data = .txt(strings)
        default:
            data = .other(type, Array(try take(length)))
        }
        guard offset == end else { throw .malformed("\(type) record data has the wrong length") }
        return (DNSMessage.Record(name: name, ttl: ttl, data: data, recordClass: recordClass), nil)
    }
}

struct WireWriter {
    var bytes: [UInt8] = []
    /// Where each name suffix (folded to lower case) was first written, for compression pointers.
    var suffixes: [[[UInt8]]: Int] = [:]

    mutating func bytes(_ more: some Sequence<UInt8>) { bytes.append(contentsOf: more) }
    mutating func u16(_ value: UInt16) { bytes.append(contentsOf: [UInt8(value >> 8), UInt8(value & 0xFF)]) }
    mutating func u32(_ value: UInt32) { u16(UInt16(value >> 16)); u16(UInt16(value & 0xFFFF)) }

    /// Writes `name`, replacing its longest suffix already written with a pointer (RFC 1035 §4.1.4).
    /// `compress: false` for names that must stay whole (SRV targets, RFC 2782).
    mutating func name(_ name: DNSName, compress: Bool = true) {
        let folded = name.folded
        for index in name.labels.indices {
            let suffix = Array(folded[index...])
            if compress, let target = suffixes[suffix] {
                u16(0xC000 | UInt16(target))
                return
            }
            if bytes.count < 0x4000 && suffixes[suffix] == nil { suffixes[suffix] = bytes.count }
            bytes.append(UInt8(name.labels[index].count))
            bytes.append(contentsOf: name.labels[index])
        }
        bytes.append(0)
    }

    mutating func record(_ record: DNSMessage.Record) {
        name(record.name)
        u16(record.type.rawValue)
        u16(record.recordClass)
        u32(record.ttl)
        let lengthAt = bytes.count
        u16(0)
        switch record.data {
        case .a(let address): u32(address.value)
        case .aaaa(let address): bytes(address)
        case .cname(let target), .ns(let target), .ptr(let target): name(target)
        case .srv(let priority, let weight, let port, let target):
            u16(priority); u16(weight); u16(port)
            name(target, compress: false)
        case .soa(let soa):
            name(soa.primary)
            name(soa.mailbox)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { u32(value) }
        case .txt(let strings):
            for string in strings { bytes.append(UInt8(min(string.count, 255))); bytes(string.prefix(255)) }
        case .other(_, let data): bytes(data)
        }
        let length = bytes.count - lengthAt - 2
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}
