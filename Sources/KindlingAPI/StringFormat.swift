import Foundation

/// The string `format`s a CRD schema may check, as apiextensions supports them (kube-openapi's strfmt):
/// a value that is not of its format is refused; formats it does not know are not checked, as upstream.
public enum StringFormat {
    /// Whether `text` is of `format`; nil when the format is not one that is checked.
    public static func matches(_ text: String, format: String) -> Bool? {
        switch format {
        case "date-time", "datetime": dateTime(text)
        case "date": regex("^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$", text)
        case "uuid": regex("^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", text)
        case "uuid3", "uuid4", "uuid5":
            regex("^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?\(format.last!)[0-9a-f]{3}-?\(format == "uuid3" ? "[0-9a-f]" : "[89ab]")[0-9a-f]{3}-?[0-9a-f]{12}$", text)
        case "email": regex("^[^@\\s]+@[^@\\s]+$", text)
        case "hostname": hostname(text)
        case "ipv4": address(text, family: AF_INET)
        case "ipv6": address(text, family: AF_INET6)
        case "cidr": cidr(text)
        case "mac": regex("^(?i)([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$", text)
        case "byte": Data(base64Encoded: text) != nil
        case "uri": URL(string: text).map { $0.scheme != nil } ?? false
        case "duration": regex("^([0-9]+(\\.[0-9]+)?\\s*(ns|us|µs|ms|s|m|h|d|w))+$", text)
        case "hexcolor": regex("^#(?i)([0-9a-f]{3}|[0-9a-f]{6})$", text)
        case "rgbcolor": regex("^rgb\\(\\s*\\d{1,3}\\s*,\\s*\\d{1,3}\\s*,\\s*\\d{1,3}\\s*\\)$", text)
        case "bsonobjectid": regex("^(?i)[0-9a-f]{24}$", text)
        default: nil
        }
    }

    static func regex(_ pattern: String, _ text: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func dateTime(_ text: String) -> Bool {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if formatter.date(from: text) != nil { return true }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text) != nil
    }

    static func hostname(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    static func address(_ text: String, family: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(family, text, &buffer) == 1
    }

    static func cidr(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]) else { return false }
        let address = String(parts[0])
        if Self.address(address, family: AF_INET) { return (0...32).contains(bits) }
        return Self.address(address, family: AF_INET6) && (0...128).contains(bits)
    }
}
