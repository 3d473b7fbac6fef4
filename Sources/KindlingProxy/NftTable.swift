/// One nf_tables table as data: what the renderer produces, and what the applier turns into `nft` commands,
/// either the whole table in one transaction or the difference from the table applied before.
public struct NftTable: Hashable, Sendable {
    public struct Chain: Hashable, Sendable {
        public let name: String
        /// `type nat hook prerouting priority -100` for a base chain; nil for a regular chain.
        public let hook: String?
        public var rules: [String]

        public init(_ name: String, hook: String? = nil, rules: [String] = []) {
            self.name = name
            self.hook = hook
            self.rules = rules
        }
    }

    /// A named set or map. `elements` maps each key to its value (`""` for a set's keys). A set the kernel
    /// fills itself (an affinity set updated by rules) has `kernelFilled` set: its elements are never written.
    public struct Set: Hashable, Sendable {
        public enum Kind: String, Hashable, Sendable { case set, map }
        public let kind: Kind
        public let name: String
        /// What goes between the braces of `add set`/`add map`, e.g. `type ipv4_addr ;`.
        public let declaration: String
        public var elements: [String: String]
        public let kernelFilled: Bool

        public init(_ kind: Kind, _ name: String, _ declaration: String, elements: [String: String] = [:], kernelFilled: Bool = false) {
            self.kind = kind
            self.name = name
            self.declaration = declaration
            self.elements = elements
            self.kernelFilled = kernelFilled
        }
    }

    public let family: String
    public let name: String
    /// In the order they are written; rule order matters within a chain, chain order only to readers.
    public private(set) var chains: [Chain] = []
    public private(set) var sets: [Set] = []

    public init(family: String = "ip", name: String) {
        self.family = family
        self.name = name
    }

    public mutating func add(_ chain: Chain) { chains.append(chain) }
    public mutating func add(_ set: Set) { sets.append(set) }

    public var ruleCount: Int { chains.reduce(0) { $0 + $1.rules.count } }

    var prefix: String { "\(family) \(name)" }

    /// The commands that replace whatever table of this name exists with this one, in one transaction.
    /// (`add` first, so `delete` never fails on a first run.)
    public var fullSyncCommands: String {
        var out = "add table \(prefix)\ndelete table \(prefix)\nadd table \(prefix)\n"
        for set in sets { out += declare(set) }
        for chain in chains { out += declare(chain) }
        for chain in chains { out += addRules(chain) }
        for set in sets where !set.kernelFilled { out += addElements(set, set.elements.keys) }
        return out
    }

    /// The commands that turn `old` (applied before, still in the kernel) into this table, in one
    /// transaction: new objects first, then changed chains and elements, then what is gone, so nothing is
    /// deleted while something still refers to it. Nil when a set changed its type: that needs a full sync.
    public func commands(from old: NftTable) -> String? {
        guard old.prefix == prefix else { return nil }
        let oldChains = Dictionary(old.chains.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let oldSets = Dictionary(old.sets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newChains = Swift.Set(chains.map(\.name))
        let newSets = Swift.Set(sets.map(\.name))
        var out = ""
        for set in sets {
            if let before = oldSets[set.name] {
                if before.kind != set.kind || before.declaration != set.declaration { return nil }
            } else {
                out += declare(set)
            }
        }
        for chain in chains {
            if let before = oldChains[chain.name] {
                if before.hook != chain.hook { return nil }
            } else {
                out += declare(chain)
            }
        }
        for chain in chains where oldChains[chain.name]?.rules != chain.rules {
            if oldChains[chain.name] != nil { out += "flush chain \(prefix) \(chain.name)\n" }
            out += addRules(chain)
        }
        for set in sets where !set.kernelFilled {
            let before = oldSets[set.name]?.elements ?? [:]
            let stale = before.filter { set.elements[$0.key] != $0.value }.keys
            out += deleteElements(set, stale)
            out += addElements(set, set.elements.filter { before[$0.key] != $0.value }.keys)
        }
        for chain in old.chains where !newChains.contains(chain.name) {
            out += "flush chain \(prefix) \(chain.name)\ndelete chain \(prefix) \(chain.name)\n"
        }
        for set in old.sets where !newSets.contains(set.name) {
            out += "delete \(set.kind.rawValue) \(prefix) \(set.name)\n"
        }
        return out
    }

    func declare(_ set: Set) -> String {
        "add \(set.kind.rawValue) \(prefix) \(set.name) { \(set.declaration) }\n"
    }

    func declare(_ chain: Chain) -> String {
        "add chain \(prefix) \(chain.name)" + (chain.hook.map { " { \($0) ; }" } ?? "") + "\n"
    }

    func addRules(_ chain: Chain) -> String {
        chain.rules.map { "add rule \(prefix) \(chain.name) \($0)\n" }.joined()
    }

    /// One statement per set, elements sorted so the text is stable.
    func addElements(_ set: Set, _ keys: some Collection<String>) -> String {
        guard !keys.isEmpty else { return "" }
        let items = keys.sorted().map { key in set.kind == .map ? "\(key) : \(set.elements[key]!)" : key }
        return "add element \(prefix) \(set.name) { \(items.joined(separator: ", ")) }\n"
    }

    func deleteElements(_ set: Set, _ keys: some Collection<String>) -> String {
        guard !keys.isEmpty else { return "" }
        return "delete element \(prefix) \(set.name) { \(keys.sorted().joined(separator: ", ")) }\n"
    }
}
