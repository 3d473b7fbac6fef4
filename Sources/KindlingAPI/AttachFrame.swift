import Foundation

/// What the API server sends a node's agent for a client attached to a container's standard input: the
/// client's keystrokes or piped input, its terminal's size, and the end of its input. Each frame is the
/// stream's number as kubectl's channel protocol numbers it (0 input, 4 resize, 255 end), the payload's
/// length (4 bytes, big-endian) and the payload.
public enum AttachFrame: Equatable, Sendable {
    case input(Data)
    case resize(columns: UInt16, rows: UInt16)
    case endOfInput

    public func encoded() -> Data {
        let (stream, payload): (UInt8, Data) = switch self {
        case .input(let data): (0, data)
        case .resize(let columns, let rows): (4, Data([UInt8(columns >> 8), UInt8(columns & 0xff), UInt8(rows >> 8), UInt8(rows & 0xff)]))
        case .endOfInput: (255, Data())
        }
        let length = UInt32(payload.count)
        return Data([stream, UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]) + payload
    }

    /// The frames at the start of `buffer`, which loses them; a partial frame stays for the next read. Nil
    /// for a frame no sender makes (the connection is then dropped).
    public static func decode(_ buffer: inout Data) -> [AttachFrame]? {
        var frames: [AttachFrame] = []
        var bytes = [UInt8](buffer)
        var offset = 0
        while bytes.count - offset >= 5 {
            let length = Int(bytes[offset + 1]) << 24 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard length <= 1 << 20 else { return nil }
            guard bytes.count - offset - 5 >= length else { break }
            let payload = Array(bytes[(offset + 5)..<(offset + 5 + length)])
            switch bytes[offset] {
            case 0: frames.append(.input(Data(payload)))
            case 4 where payload.count == 4:
                frames.append(.resize(columns: UInt16(payload[0]) << 8 | UInt16(payload[1]), rows: UInt16(payload[2]) << 8 | UInt16(payload[3])))
            case 255: frames.append(.endOfInput)
            default: return nil
            }
            offset += 5 + length
        }
        bytes.removeFirst(offset)
        buffer = Data(bytes)
        return frames
    }

    /// kubectl's resize message (stream 4): `{"Width":120,"Height":40}`. Pure.
    public static func resize(fromKubectl json: Data) -> AttachFrame? {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
              let width = object["Width"] as? Int, let height = object["Height"] as? Int,
              (0...Int(UInt16.max)).contains(width), (0...Int(UInt16.max)).contains(height) else { return nil }
        return .resize(columns: UInt16(width), rows: UInt16(height))
    }
}
