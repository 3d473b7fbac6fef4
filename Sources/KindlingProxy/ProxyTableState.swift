import KindlingNftables
/// The proxy's table kept as one part per service port (`ProxyRules.part`), so that a sync renders and compares
/// only the ports that changed: at 10,000 services, rendering and comparing whole tables took longer than the
/// kernel takes to apply an endpoint change.
///
/// Shared elements are counted by owner: a cluster IP with two ports, or a pod behind two services, stays in
/// its set until the last port that put it there is gone.
public struct ProxyTableState: Sendable {
    public let node: ProxyRules.Node
    /// The ports as last given, in their order: the next sync usually has them in the same order.
    private var given: [ServicePort] = []
    private var ports: [String: ServicePort] = [:]
    private var parts: [String: ProxyRules.Part] = [:]
    private var owners: [Element: Owners] = [:]
    /// How many ports use each pick chain.
    private var pickUse: [Slots.Pick: Int] = [:]
    /// The rules of all parts' chains, kept as parts come and go: read after every sync.
    private var partRules = 0

    /// One element of a shared set or map.
    struct Element: Hashable {
        let set: String
        let key: String
    }

    /// The ports that put an element in, with the value each gives it. Nearly every element has one owner.
    enum Owners {
        case one(owner: String, value: String)
        case many([String: String])

        /// Two ports giving one key different values (two services claiming one external IP and port): the
        /// first port by name wins, whatever order changes came in.
        var value: String {
            switch self {
            case .one(_, let value): value
            case .many(let byOwner): byOwner.min { $0.key < $1.key }!.value
            }
        }

        func adding(_ owner: String, _ value: String) -> Owners {
            switch self {
            case .one(let first, let firstValue): return .many([first: firstValue, owner: value])
            case .many(var byOwner):
                byOwner[owner] = value
                return .many(byOwner)
            }
        }

        /// Nil when `owner` was the last.
        func removing(_ owner: String) -> Owners? {
            switch self {
            case .one: return nil
            case .many(var byOwner):
                byOwner[owner] = nil
                if byOwner.count == 1, let (last, value) = byOwner.first { return .one(owner: last, value: value) }
                return byOwner.isEmpty ? nil : .many(byOwner)
            }
        }
    }

    public init(_ ports: [ServicePort], node: ProxyRules.Node) {
        self.node = node
        owners.reserveCapacity(ports.count * 8)
        for port in ports { install(Self.id(port), port, ProxyRules.part(port, node: node)) }
        given = ports
    }

    /// A port's identity: the same service port with other endpoints or settings is a change, not a new one.
    static func id(_ port: ServicePort) -> String { ChainNames(port).base }

    public var ruleCount: Int {
        ProxyRules.fixedRuleCount + partRules + Slots.chains(for: pickUse.keys).reduce(0) { $0 + $1.rules.count }
    }

    /// The whole table, as a full sync writes it.
    public var table: NftTable {
        var table = NftTable(name: ProxyRules.tableName)
        for chain in ProxyRules.fixedChains(node) { table.add(chain) }
        for id in parts.keys.sorted() {
            for chain in parts[id]!.chains { table.add(chain) }
            for set in parts[id]!.sets { table.add(set) }
        }
        for pick in Slots.chains(for: pickUse.keys) { table.add(.init(pick.chain, rules: pick.rules)) }
        var elements: [String: [String: String]] = [:]
        for (element, owners) in owners { elements[element.set, default: [:]][element.key] = owners.value }
        for var set in ProxyRules.sharedSets {
            set.elements = elements[set.name] ?? [:]
            table.add(set)
        }
        return table
    }

    /// The ports that differ between what was given last and `newPorts`, by id: the new port, or nil for one
    /// that is gone.
    private func changes(to newPorts: [ServicePort]) -> [String: ServicePort?] {
        // Usually the same ports in the same order with one or two changed: compared in place, no hashing.
        if newPorts.count == given.count {
            var changed: [String: ServicePort?] = [:]
            for index in newPorts.indices where newPorts[index] != given[index] {
                let id = Self.id(newPorts[index])
                guard id == Self.id(given[index]) else { return changesByID(to: newPorts) }
                changed[id] = newPorts[index]
            }
            return changed
        }
        return changesByID(to: newPorts)
    }

    private func changesByID(to newPorts: [ServicePort]) -> [String: ServicePort?] {
        let incoming = Dictionary(newPorts.map { (Self.id($0), $0) }, uniquingKeysWith: { _, last in last })
        var changed: [String: ServicePort?] = incoming.filter { ports[$0.key] != $0.value }.mapValues { $0 }
        for id in ports.keys where incoming[id] == nil { changed[id] = .some(nil) }
        return changed
    }

    /// Makes the state describe `newPorts` and returns what changes in the table. Nil when a change needs a full
    /// sync (a set whose type changed); the state is then not to be used for a delta again.
    public mutating func update(to newPorts: [ServicePort]) -> NftTable.Delta? {
        var delta = NftTable.Delta(table: NftTable(name: ProxyRules.tableName))
        let changed = changes(to: newPorts)
        given = newPorts
        guard !changed.isEmpty else { return delta }

        let picksBefore = Slots.chains(for: pickUse.keys)
        var before: [Element: String?] = [:]  // the elements whose owners change, with their value before
        for (id, port) in changed.sorted(by: { $0.key < $1.key }) {
            let old = parts[id] ?? ProxyRules.Part()
            let new = port.map { ProxyRules.part($0, node: node) } ?? ProxyRules.Part()
            for contribution in old.elements + new.elements {
                let element = Element(set: contribution.set, key: contribution.key)
                if before[element] == nil { before[element] = .some(owners[element]?.value) }
            }
            install(id, port, new)

            let oldChains = Dictionary(old.chains.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let newChainNames = Set(new.chains.map(\.name))
            for chain in new.chains {
                if let previous = oldChains[chain.name] {
                    if previous.rules != chain.rules { delta.changedChains.append(chain) }
                } else {
                    delta.newChains.append(chain)
                }
            }
            delta.deletedChains += old.chains.map(\.name).filter { !newChainNames.contains($0) }
            let oldSets = Dictionary(old.sets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let newSetNames = Set(new.sets.map(\.name))
            for set in new.sets {
                if let previous = oldSets[set.name] {
                    if previous.declaration != set.declaration { return nil }
                } else {
                    delta.newSets.append(set)
                }
            }
            delta.deletedSets += old.sets.filter { !newSetNames.contains($0.name) }
        }

        let picksAfter = Slots.chains(for: pickUse.keys)
        delta.newChains += picksAfter.filter { !picksBefore.contains($0) }.map { .init($0.chain, rules: $0.rules) }
        delta.deletedChains += picksBefore.filter { !picksAfter.contains($0) }.map(\.chain)

        var stale: [String: [String]] = [:]
        var added: [String: [String: String]] = [:]
        for (element, was) in before {
            let now = owners[element]?.value
            guard was != now else { continue }
            if was != nil { stale[element.set, default: []].append(element.key) }
            if let now { added[element.set, default: [:]][element.key] = now }
        }
        for var shared in ProxyRules.sharedSets {
            if let keys = stale[shared.name] { delta.staleElements.append((shared, keys.sorted())) }
            if let elements = added[shared.name] {
                shared.elements = elements
                delta.addedElements.append((shared, elements.keys.sorted()))
            }
        }
        return delta
    }

    /// Puts `part` (of `port`) in place of what `id` had, keeping owners and pick counts; nil removes it.
    private mutating func install(_ id: String, _ port: ServicePort?, _ part: ProxyRules.Part) {
        if let old = parts[id] {
            partRules -= old.ruleCount
            for contribution in old.elements {
                let element = Element(set: contribution.set, key: contribution.key)
                owners[element] = owners[element]?.removing(id)
            }
            for pick in old.picks {
                pickUse[pick, default: 0] -= 1
                if pickUse[pick] == 0 { pickUse[pick] = nil }
            }
        }
        parts[id] = port == nil ? nil : part
        ports[id] = port
        guard port != nil else { return }
        partRules += part.ruleCount
        for contribution in part.elements {
            let element = Element(set: contribution.set, key: contribution.key)
            owners[element] = owners[element]?.adding(id, contribution.value) ?? .one(owner: id, value: contribution.value)
        }
        for pick in part.picks { pickUse[pick, default: 0] += 1 }
    }
}
