import Foundation

/// A resource quantity (`500m`, `1.5`, `128Mi`, `1e3`), as apimachinery's `resource.Quantity` reads it: a
/// signed decimal and a suffix, binary (`Ki`..`Ei`), decimal (`n`, `u`, `m`, `k`, `M`..`E`) or an exponent.
/// It is written back as it was given; comparisons go by value, so `0.5` equals `500m` and `1Gi` `1024Mi`.
public struct Quantity: Codable, Hashable, Sendable, CustomStringConvertible {
    public let text: String
    public let value: Decimal

    /// apimachinery's message for text that is no quantity.
    public static let formatError = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

    static let binary: [String: Int] = ["Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6]
    static let decimal: [String: Int] = ["n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18]

    public init?(_ text: String) {
        let digits = text.prefix { $0.isASCII && ($0.isNumber || $0 == "." || $0 == "+" || $0 == "-") }
        let number = digits.first == "+" ? digits.dropFirst() : digits[...]
        let suffix = String(text.dropFirst(digits.count))
        guard !number.isEmpty, number.dropFirst().allSatisfy({ $0 != "+" && $0 != "-" }), number.filter({ $0 == "." }).count <= 1,
              number.contains(where: \.isNumber), let mantissa = Decimal(string: String(number), locale: Locale(identifier: "en_US_POSIX"))
        else { return nil }
        var scaled = mantissa
        if let power = Self.binary[suffix] {
            for _ in 0..<power { scaled *= 1024 }
        } else if let exponent = Self.decimal[suffix] ?? Self.exponent(suffix) {
            guard abs(exponent) <= 100 else { return nil }
            if exponent < 0 { scaled /= pow(Decimal(10), -exponent) } else { scaled *= pow(Decimal(10), exponent) }
        } else {
            return nil
        }
        self.text = text
        value = scaled
    }

    static func exponent(_ suffix: String) -> Int? {
        guard let first = suffix.first, first == "e" || first == "E", suffix.count > 1 else { return nil }
        return Int(suffix.dropFirst())
    }

    public var description: String { text }
    public var isZero: Bool { value.isZero }

    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.value == rhs.value }
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }

    /// YAML's `cpu: 1` arrives as a number; Kubernetes takes it as the quantity `1`.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let string = try? container.decode(String.self) {
            text = string
        } else {
            let number = try container.decode(Double.self)
            text = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        }
        guard let quantity = Quantity(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.formatError)
        }
        self = quantity
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// A container's `resources`: what it asks for (`requests`) and may use at most (`limits`).
public struct ResourceRequirements: Codable, Hashable, Sendable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?

    public init(limits: [String: Quantity]? = nil, requests: [String: Quantity]? = nil) {
        self.limits = limits
        self.requests = requests
    }

    /// Requests default to limits for every resource limited but not asked for (Kubernetes' pod defaulting).
    mutating func applyDefaults() {
        guard let limits, !limits.isEmpty else { return }
        var requests = self.requests ?? [:]
        for (name, limit) in limits where requests[name] == nil { requests[name] = limit }
        self.requests = requests
    }

    func validate(_ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (field, values) in [("limits", limits ?? [:]), ("requests", requests ?? [:])] {
            for (name, quantity) in values.sorted(by: { $0.key < $1.key }) where quantity.value < 0 {
                errors.append(.invalid("\(path).\(field).\(name)", quantity.text, "must be greater than or equal to 0"))
            }
        }
        for (name, request) in (requests ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let limit = limits?[name], request.value > limit.value {
                errors.append(.invalid("\(path).requests", request.text, "must be less than or equal to \(name) limit of \(limit.text)"))
            }
        }
        return errors
    }
}

/// A pod's quality of service class, as kubelet and kube-apiserver work it out from cpu and memory alone:
/// `BestEffort` when no container asks for or limits either, `Guaranteed` when every container limits both and
/// asks for exactly its limits, `Burstable` otherwise.
public enum QOSClass {
    static let resources: Set = ["cpu", "memory"]

    public static func of(_ containers: [Container]) -> String {
        var requests: [String: Decimal] = [:], limits: [String: Decimal] = [:]
        var guaranteed = true
        for container in containers {
            for (name, quantity) in container.resources?.requests ?? [:] where resources.contains(name) && !quantity.isZero {
                requests[name, default: 0] += quantity.value
            }
            var limited: Set<String> = []
            for (name, quantity) in container.resources?.limits ?? [:] where resources.contains(name) && !quantity.isZero {
                limits[name, default: 0] += quantity.value
                limited.insert(name)
            }
            if limited != resources { guaranteed = false }
        }
        if requests.isEmpty && limits.isEmpty { return "BestEffort" }
        return guaranteed && requests == limits ? "Guaranteed" : "Burstable"
    }
}
