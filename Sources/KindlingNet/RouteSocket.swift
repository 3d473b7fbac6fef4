import CNetlink
import Foundation
import KindlingAddresses

/// An rtnetlink socket bound to the namespace it was opened in, with the few link, address and route
/// operations kindling needs. Open it inside a namespace job (`NetNamespace.run`); it is not thread-safe.
public final class RouteSocket: RouteTable {
    let handle: OpaquePointer

    public init() throws {
        guard let handle = nl_socket_alloc() else { throw NetlinkError("nl_socket_alloc", code: NLE_NOMEM) }
        let result = nl_connect(handle, NETLINK_ROUTE)
        if result < 0 {
            nl_socket_free(handle)
            throw NetlinkError("connect rtnetlink", code: result)
        }
        self.handle = handle
    }

    deinit { nl_socket_free(handle) }

    // MARK: Links

    /// The kernel's view of one link, or nil when there is none by that name.
    func link(_ name: String) throws -> OpaquePointer? {
        var link: OpaquePointer?
        let result = rtnl_link_get_kernel(handle, 0, name, &link)
        if result == -NLE_OBJ_NOTFOUND || result == -NLE_NODEV { return nil }
        try nl("get link \(name)") { result }
        return link
    }

    public func linkIndex(_ name: String) throws -> Int32? {
        guard let link = try link(name) else { return nil }
        defer { rtnl_link_put(link) }
        return rtnl_link_get_ifindex(link)
    }

    func requireIndex(_ name: String) throws -> Int32 {
        guard let index = try linkIndex(name) else { throw NetlinkError("find link \(name)", code: NLE_NODEV) }
        return index
    }

    public func linkNames() throws -> [String] {
        var cache: OpaquePointer?
        try nl("list links") { rtnl_link_alloc_cache(handle, AF_UNSPEC, &cache) }
        defer { nl_cache_free(cache) }
        var names: [String] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            if let name = rtnl_link_get_name(current) { names.append(String(cString: name)) }
            object = nl_cache_get_next(current)
        }
        return names.sorted()
    }

    /// Creates a veth pair: `name` here, `peer` moved into the namespace open as `peerNamespaceFD`
    /// (-1: both ends here).
    public func addVeth(_ name: String, peer peerName: String, peerNamespace: NetNamespace?) throws {
        guard let link = rtnl_link_veth_alloc() else { throw NetlinkError("alloc veth", code: NLE_NOMEM) }
        defer { rtnl_link_veth_release(link) }
        rtnl_link_set_name(link, name)
        let peer = rtnl_link_veth_get_peer(link)
        defer { rtnl_link_put(peer) }
        rtnl_link_set_name(peer, peerName)
        var fd: Int32 = -1
        if let peerNamespace {
            fd = try syscall("open \(peerNamespace.path)") { open(peerNamespace.path, O_RDONLY | O_CLOEXEC) }
            rtnl_link_set_ns_fd(peer, fd)
        }
        defer { if fd >= 0 { close(fd) } }
        try nl("add veth \(name) peer \(peerName)") { rtnl_link_add(handle, link, NLM_F_CREATE | NLM_F_EXCL) }
    }

    public func addBridge(_ name: String) throws {
        guard let link = rtnl_link_bridge_alloc() else { throw NetlinkError("alloc bridge", code: NLE_NOMEM) }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        try nl("add bridge \(name)") { rtnl_link_add(handle, link, NLM_F_CREATE | NLM_F_EXCL) }
    }

    public func setMaster(_ name: String, bridge: String) throws {
        let port = try requireIndex(name), master = try requireIndex(bridge)
        try nl("set \(name) master \(bridge)") { rtnl_link_enslave_ifindex(handle, master, port) }
    }

    public func setUp(_ name: String) throws { try setState(name, up: true) }

    public func setDown(_ name: String) throws { try setState(name, up: false) }

    private func setState(_ name: String, up: Bool) throws {
        let what = "set \(name) \(up ? "up" : "down")"
        guard let link = try link(name) else { throw NetlinkError(what, code: NLE_NODEV) }
        defer { rtnl_link_put(link) }
        let change = rtnl_link_alloc()
        defer { rtnl_link_put(change) }
        if up { rtnl_link_set_flags(change, UInt32(IFF_UP)) } else { rtnl_link_unset_flags(change, UInt32(IFF_UP)) }
        try nl(what) { rtnl_link_change(handle, link, change, 0) }
    }

    /// Deletes a link (for a veth, both ends); deleting one that is gone is not an error.
    public func deleteLink(_ name: String) throws {
        guard let link = try link(name) else { return }
        defer { rtnl_link_put(link) }
        let result = rtnl_link_delete(handle, link)
        if result == -NLE_OBJ_NOTFOUND || result == -NLE_NODEV { return }
        try nl("delete link \(name)") { result }
    }

    // MARK: Addresses

    /// Adds an address; one already there is not an error. `prefixRoute: false` keeps the kernel from adding a
    /// route for the address's subnet (IFA_F_NOPREFIXROUTE), for point-to-point pod links.
    public func addAddress(_ address: IPv4Interface, device: String, prefixRoute: Bool = true) throws {
        let result = try withAddress(address, device: device) { object in
            if !prefixRoute { rtnl_addr_set_flags(object, UInt32(IFA_F_NOPREFIXROUTE)) }
            return rtnl_addr_add(handle, object, 0)
        }
        if result == -NLE_EXIST { return }
        try nl("add address \(address) dev \(device)") { result }
    }

    /// Removes an address; one already gone is not an error.
    public func deleteAddress(_ address: IPv4Interface, device: String) throws {
        let result = try withAddress(address, device: device) { rtnl_addr_delete(handle, $0, 0) }
        if result == -NLE_OBJ_NOTFOUND || result == -NLE_NOADDR { return }
        try nl("delete address \(address) dev \(device)") { result }
    }

    /// Runs `body` with a libnl address object for `address` on `device`, and returns its result.
    private func withAddress(_ address: IPv4Interface, device: String, _ body: (OpaquePointer?) -> Int32) throws -> Int32 {
        let index = try requireIndex(device)
        let local = try nlAddress(address.address, prefixLength: address.prefixLength)
        defer { nl_addr_put(local) }
        let object = rtnl_addr_alloc()
        defer { rtnl_addr_put(object) }
        rtnl_addr_set_ifindex(object, index)
        try nl("set address") { rtnl_addr_set_local(object, local) }
        return body(object)
    }

    /// IPv4 addresses on `device`.
    public func addresses(device: String) throws -> [IPv4Interface] {
        let index = try requireIndex(device)
        var cache: OpaquePointer?
        try nl("list addresses") { rtnl_addr_alloc_cache(handle, &cache) }
        defer { nl_cache_free(cache) }
        var result: [IPv4Interface] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            object = nl_cache_get_next(current)
            guard rtnl_addr_get_ifindex(current) == index, rtnl_addr_get_family(current) == AF_INET,
                  let local = rtnl_addr_get_local(current), let ip = ipv4(local) else { continue }
            result.append(IPv4Interface(ip, prefixLength: Int(nl_addr_get_prefixlen(local))))
        }
        return result
    }

    // MARK: Routes

    /// The IPv4 main-table routes that carry `owner`'s protocol number.
    public func ownedRoutes(_ owner: RouteOwner) throws -> Set<Route> {
        var cache: OpaquePointer?
        try nl("list routes") { rtnl_route_alloc_cache(handle, AF_INET, 0, &cache) }
        defer { nl_cache_free(cache) }
        var names: [Int32: String] = [:]
        var routes = Set<Route>()
        var object = nl_cache_get_first(cache)
        while let current = object {
            object = nl_cache_get_next(current)
            guard rtnl_route_get_table(current) == UInt32(RT_TABLE_MAIN.rawValue),
                  rtnl_route_get_protocol(current) == owner.rawValue,
                  let dst = rtnl_route_get_dst(current), let network = ipv4(dst) ?? zeroIfEmpty(dst),
                  let cidr = IPv4CIDR(network: network, prefixLength: Int(nl_addr_get_prefixlen(dst))),
                  let hop = rtnl_route_nexthop_n(current, 0) else { continue }
            let index = rtnl_route_nh_get_ifindex(hop)
            if names[index] == nil { names[index] = try deviceName(index) }
            let gateway = rtnl_route_nh_get_gateway(hop).flatMap(ipv4)
            let scope = Route.Scope(rawValue: rtnl_route_get_scope(current)) ?? .universe
            routes.insert(Route(destination: cidr, gateway: gateway, device: names[index] ?? "if\(index)", scope: scope))
        }
        return routes
    }

    /// Adds or replaces the route to `route.destination`.
    public func replaceRoute(_ route: Route, owner: RouteOwner) throws {
        let object = try routeObject(route, owner: owner)
        defer { rtnl_route_put(object) }
        try nl("replace route \(route)") { rtnl_route_add(handle, object, NLM_F_CREATE | NLM_F_REPLACE) }
    }

    /// Deletes a route; one that is already gone is not an error.
    public func deleteRoute(_ route: Route, owner: RouteOwner) throws {
        // The kernel drops a device's routes with the device.
        guard try linkIndex(route.device) != nil else { return }
        let object = try routeObject(route, owner: owner)
        defer { rtnl_route_put(object) }
        let result = rtnl_route_delete(handle, object, 0)
        if result == -NLE_OBJ_NOTFOUND || result == -NLE_NODEV { return }
        try nl("delete route \(route)") { result }
    }

    func routeObject(_ route: Route, owner: RouteOwner) throws -> OpaquePointer {
        let object = rtnl_route_alloc()!
        do {
            let dst = try nlAddress(route.destination.network, prefixLength: route.destination.prefixLength)
            defer { nl_addr_put(dst) }
            _ = rtnl_route_set_family(object, UInt8(AF_INET))
            rtnl_route_set_table(object, UInt32(RT_TABLE_MAIN.rawValue))
            rtnl_route_set_protocol(object, owner.rawValue)
            rtnl_route_set_scope(object, route.scope.rawValue)
            _ = rtnl_route_set_type(object, UInt8(RTN_UNICAST))
            try nl("set route destination") { rtnl_route_set_dst(object, dst) }
            let hop = rtnl_route_nh_alloc()
            rtnl_route_nh_set_ifindex(hop, try requireIndex(route.device))
            if let gateway = route.gateway {
                let gw = try nlAddress(gateway, prefixLength: 32)
                defer { nl_addr_put(gw) }
                rtnl_route_nh_set_gateway(hop, gw)
            }
            rtnl_route_add_nexthop(object, hop)
            return object
        } catch {
            rtnl_route_put(object)
            throw error
        }
    }

    func deviceName(_ index: Int32) throws -> String? {
        var link: OpaquePointer?
        guard rtnl_link_get_kernel(handle, index, nil, &link) >= 0, let link else { return nil }
        defer { rtnl_link_put(link) }
        return rtnl_link_get_name(link).map { String(cString: $0) }
    }
}

func nlAddress(_ address: IPv4Address, prefixLength: Int) throws -> OpaquePointer {
    var bytes = address.octets
    guard let object = nl_addr_build(AF_INET, &bytes, 4) else { throw NetlinkError("build address", code: NLE_NOMEM) }
    nl_addr_set_prefixlen(object, Int32(prefixLength))
    return object
}

func ipv4(_ address: OpaquePointer) -> IPv4Address? {
    guard nl_addr_get_family(address) == AF_INET, nl_addr_get_len(address) == 4,
          let raw = nl_addr_get_binary_addr(address) else { return nil }
    let bytes = raw.assumingMemoryBound(to: UInt8.self)
    return IPv4Address(UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
}

/// libnl gives the default route an empty destination address.
func zeroIfEmpty(_ address: OpaquePointer) -> IPv4Address? {
    nl_addr_get_len(address) == 0 ? IPv4Address(0) : nil
}
