import KindlingAddresses

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

/// Routes kindling installs carry a protocol number per owner, so each reconciler touches only its own.
/// `ip route` shows them as `proto 77` / `proto 78`; both are unassigned in /etc/iproute2/rt_protos.
public enum RouteOwner: UInt8, Sendable {
    /// Routes to other nodes' pod CIDRs (the agent's route sync).
    case nodeRoutes = 77
    /// Routes that wire one pod: its /32 on the node, its gateway and default route inside the pod.
    case podLinks = 78
}

/// The main routing table of one namespace as route sync uses it: `RouteSocket` in the kernel,
/// `FakeRouteTable` in unit tests.
public protocol RouteTable: AnyObject {
    /// The IPv4 main-table routes that carry `owner`'s protocol number.
    func ownedRoutes(_ owner: RouteOwner) throws -> Set<Route>
    /// Adds the route to `route.destination`, or replaces the one there (whoever owns it).
    func replaceRoute(_ route: Route, owner: RouteOwner) throws
    /// Deletes `owner`'s route; one that is already gone, or whose device is, is not an error.
    func deleteRoute(_ route: Route, owner: RouteOwner) throws
}

extension RouteTable {
    /// Makes `owner`'s routes here exactly `desired` (no other route is touched) and says what it changed.
    @discardableResult
    public func reconcileRoutes(_ desired: Set<Route>, owner: RouteOwner) throws -> RouteChanges {
        let changes = RouteChanges(desired: desired, actual: try ownedRoutes(owner))
        for route in changes.add { try replaceRoute(route, owner: owner) }
        for route in changes.delete { try deleteRoute(route, owner: owner) }
        return changes
    }
}
