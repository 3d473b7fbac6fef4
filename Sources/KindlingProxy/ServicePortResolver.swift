import KindlingAPI

/// A node's service ports kept up to date from the informers' caches (keyed `namespace/name`): only the
/// services whose object or endpoint slices changed (by resourceVersion) are resolved again. At 10,000 services
/// resolving everything (`ServicePort.from`) took ~0.3 s, far more than the kernel takes for the change.
public struct ServicePortResolver: Sendable {
    public let nodeName: String

    /// What one sync changed, for the work that follows it (conntrack cleanup, programming latency).
    public struct Changes: Sendable {
        /// The changed services' ports before and after, in no particular order.
        public var old: [ServicePort] = []
        public var new: [ServicePort] = []
        /// The trigger times (`EndpointSlice.triggerTimeAnnotation`) of slices that changed.
        public var triggers: [String] = []

        public init() {}

        /// Adds what a later sync changed: the earliest `old` and the latest `new` of each port count.
        public mutating func merge(_ later: Changes) {
            let known = Set(old.map(ConntrackCleanup.key))
            old += later.old.filter { !known.contains(ConntrackCleanup.key($0)) }
            let touched = Set((later.old + later.new).map(ConntrackCleanup.key))
            new = new.filter { !touched.contains(ConntrackCleanup.key($0)) } + later.new
            triggers += later.triggers
        }
    }

    private struct SliceEntry: Sendable {
        let version: String?
        let service: String
        let trigger: String?
    }

    private var serviceVersions: [String: String?] = [:]
    private var portsByService: [String: [ServicePort]] = [:]
    private var slices: [String: SliceEntry] = [:]
    private var slicesByService: [String: Set<String>] = [:]
    /// All ports, by service key in order: what the last call returned, and where each service's ports start.
    private var resolved: [ServicePort] = []
    private var offsets: [String: Int] = [:]

    public init(nodeName: String) { self.nodeName = nodeName }

    /// All service ports for these caches, and what changed since the last call.
    public mutating func resolve(services: [String: Service], slices newSlices: [String: EndpointSlice]) -> ([ServicePort], Changes) {
        var dirty: Set<String> = []
        var changes = Changes()

        // By index, reading only the version: copying 10,000 whole objects out of the caches costs more than
        // the rest of a sync.
        for index in newSlices.indices {
            let (key, version) = (newSlices.keys[index], newSlices.values[index].metadata.resourceVersion)
            guard slices[key]?.version != version || version == nil else { continue }
            let slice = newSlices.values[index]
            let service = slice.metadata.labels?[EndpointSlice.serviceNameLabel].map { "\(slice.namespace)/\($0)" } ?? ""
            let trigger = slice.metadata.annotations?[EndpointSlice.triggerTimeAnnotation]
            if let previous = slices[key] {
                dirty.insert(previous.service)
                slicesByService[previous.service]?.remove(key)
            }
            if let trigger, trigger != slices[key]?.trigger { changes.triggers.append(trigger) }
            slices[key] = SliceEntry(version: slice.metadata.resourceVersion, service: service, trigger: trigger)
            slicesByService[service, default: []].insert(key)
            dirty.insert(service)
        }
        if slices.count != newSlices.count {
            for (key, entry) in slices where newSlices[key] == nil {
                slices[key] = nil
                slicesByService[entry.service]?.remove(key)
                dirty.insert(entry.service)
            }
        }
        var membership = false
        for index in services.indices {
            let (key, version) = (services.keys[index], services.values[index].metadata.resourceVersion)
            guard serviceVersions[key] != .some(version) || version == nil else { continue }
            if serviceVersions[key] == nil { membership = true }
            serviceVersions[key] = .some(version)
            dirty.insert(key)
        }
        if serviceVersions.count != services.count {
            for key in serviceVersions.keys where services[key] == nil {
                serviceVersions[key] = nil
                dirty.insert(key)
            }
            membership = true
        }
        guard !dirty.isEmpty else { return (resolved, changes) }

        var rebuild = membership
        for key in dirty {
            let before = portsByService[key] ?? []
            var after: [ServicePort] = []
            if let service = services[key] {
                let serviceSlices = (slicesByService[key] ?? []).compactMap { newSlices[$0] }
                after = ServicePort.from(services: [service], slices: serviceSlices, nodeName: nodeName)
            }
            if slicesByService[key]?.isEmpty == true { slicesByService[key] = nil }
            guard after != before else { continue }
            portsByService[key] = after.isEmpty ? nil : after
            changes.old += before
            changes.new += after
            // The same number of ports: replaced where they are, without rebuilding the whole list.
            if !rebuild, after.count == before.count, let offset = offsets[key] {
                resolved.replaceSubrange(offset..<offset + after.count, with: after)
            } else {
                rebuild = true
            }
        }
        if rebuild {
            resolved = []
            offsets = [:]
            for key in serviceVersions.keys.sorted() {
                offsets[key] = resolved.count
                resolved += portsByService[key] ?? []
            }
        }
        return (resolved, changes)
    }
}
