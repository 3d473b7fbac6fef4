import KindlingAPI

/// One IPv4 route of the main table, reduced to what kindling programs.
public struct Route: Hashable, Sendable, CustomStringConvertible, Comparable {
    public enum Scope: UInt8, Sendable { case universe = 0, link = 253, host = 254 }

    public var destination: IPv4CIDR
    public var gateway: IPv4Address?
    public var device: String
    public var scope: Scope

    public init(destination: IPv4CIDR, gateway: IPv4Address? = nil, device: String, scope: Scope? = nil) {
        self.destination = destination
        self.gateway = gateway
        self.device = device
        self.scope = scope ?? (gateway == nil ? .link : .universe)
    }

    public var description: String {
        var text = destination.prefixLength == 0 ? "default" : destination.description
        if let gateway { text += " via \(gateway)" }
        text += " dev \(device)"
        if scope == .link { text += " scope link" }
        return text
    }

    public static func < (a: Route, b: Route) -> Bool { a.description < b.description }
}

/// What to change so that the routes kindling owns in one namespace become exactly `desired`.
/// Routes are keyed by destination: one with the right destination but another gateway or device is replaced.
public struct RouteChanges: Equatable, Sendable {
    public var add: [Route]
    public var delete: [Route]

    public var isEmpty: Bool { add.isEmpty && delete.isEmpty }

    public init(add: [Route] = [], delete: [Route] = []) {
        self.add = add
        self.delete = delete
    }

    public init(desired: Set<Route>, actual: Set<Route>) {
        self.add = desired.subtracting(actual).sorted()
        let desiredDestinations = Set(desired.map(\.destination))
        // A route being replaced is overwritten by the add (NLM_F_REPLACE); only orphans are deleted.
        self.delete = actual.subtracting(desired).filter { !desiredDestinations.contains($0.destination) }.sorted()
    }
}
