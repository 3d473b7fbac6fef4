import CNetlink
import KindlingAddresses

/// A namespace's main routing table as a model, for unit tests of route sync: links with addresses (whose
/// subnets the kernel routes itself, `proto kernel`), and routes keyed by destination as the kernel keys them
/// here (one table, no TOS or metric). It refuses what the kernel refuses: a device that does not exist
/// (ENODEV), a gateway no link route of its device covers (EINVAL, "Nexthop has invalid
/// gateway"); deleting a route that is not there, or
/// is another owner's, is the no-op `RouteSocket` makes of ESRCH.
public final class FakeRouteTable: RouteTable, @unchecked Sendable {
    private var links: [String: [IPv4Interface]]
    /// Each destination's route and its owner (nil: the kernel's, or someone's by hand).
    private var routes: [IPv4CIDR: (route: Route, owner: RouteOwner?)] = [:]

    /// `links`: each device and its addresses; their subnets get the kernel's link routes.
    public init(links: [String: [IPv4Interface]]) {
        self.links = links
        for (device, addresses) in links {
            for address in addresses where address.prefixLength < 32 {
                add(Route(destination: address.subnet, device: device), owner: nil)
            }
        }
    }

    /// Every route, as `ip route` would list them (sorted).
    public var all: [Route] { routes.values.map(\.route).sorted() }

    /// What `ip route add` by hand does: a route with no owner of kindling's.
    public func add(_ route: Route, owner: RouteOwner?) { routes[route.destination] = (route, owner) }

    /// What `ip route del <destination>` by hand does, whoever owns it.
    public func remove(_ destination: IPv4CIDR) { routes[destination] = nil }

    /// What deleting a link does: its routes go with it.
    public func removeLink(_ device: String) {
        links[device] = nil
        routes = routes.filter { $0.value.route.device != device }
    }

    public func ownedRoutes(_ owner: RouteOwner) throws -> Set<Route> {
        Set(routes.values.filter { $0.owner == owner }.map(\.route))
    }

    public func replaceRoute(_ route: Route, owner: RouteOwner) throws {
        guard links[route.device] != nil else { throw NetlinkError("replace route \(route)", code: NLE_NODEV) }
        if let gateway = route.gateway {
            let reachable = routes.values.contains { $0.route.device == route.device && $0.route.gateway == nil && $0.route.destination.contains(gateway) }
            guard reachable else { throw NetlinkError("replace route \(route)", code: NLE_INVAL) }
        }
        add(route, owner: owner)
    }

    public func deleteRoute(_ route: Route, owner: RouteOwner) throws {
        guard links[route.device] != nil, let existing = routes[route.destination], existing.owner == owner,
              existing.route.device == route.device, route.gateway == nil || existing.route.gateway == route.gateway else { return }
        routes[route.destination] = nil
    }
}
