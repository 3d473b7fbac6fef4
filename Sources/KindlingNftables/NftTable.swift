import Foundation

/// One nf_tables table as data: what the proxy's and the policy's renderers produce, what their appliers turn
/// into `nft` commands for the whole table in one transaction (later proxy syncs send a `Delta`, see
/// `ProxyTableState`), and what `FakeNftables` keeps as its model of the kernel's table.
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
        /// Set for the sets whose elements change with endpoints: they can then go as raw nfnetlink.
        public let layout: ElementLayout?

        public init(_ kind: Kind, _ name: String, _ declaration: String, elements: [String: String] = [:], kernelFilled: Bool = false,
                    layout: ElementLayout? = nil) {
            self.kind = kind
            self.name = name
            self.declaration = declaration
            self.elements = elements
            self.kernelFilled = kernelFilled
            self.layout = layout
        }
    }

    public let family: String
    public let name: String
    /// In the order they are written; rule order matters within a chain, chain order only to readers.
    public internal(set) var chains: [Chain] = []
    public internal(set) var sets: [Set] = []

    public init(family: String = "ip", name: String) {
        self.family = family
        self.name = name
    }

    public mutating func add(_ chain: Chain) { chains.append(chain) }
    public mutating func add(_ set: Set) { sets.append(set) }

    public var ruleCount: Int { chains.reduce(0) { $0 + $1.rules.count } }

    var prefix: String { "\(family) \(name)" }

    /// The table as `nft list table` prints it: sets, then chains, each in the order added; elements sorted.
    public var listing: String {
        var out = "table \(prefix) {\n"
        for set in sets {
            out += "\t\(set.kind.rawValue) \(set.name) {\n"
            for statement in set.declaration.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                out += "\t\t\(statement.trimmingCharacters(in: .whitespaces))\n"
            }
            if !set.elements.isEmpty {
                let items = set.elements.keys.sorted().map { key in set.kind == .map ? "\(key) : \(set.elements[key]!)" : key }
                out += "\t\telements = { \(items.joined(separator: ", ")) }\n"
            }
            out += "\t}\n"
        }
        for chain in chains {
            out += "\tchain \(chain.name) {\n" + (chain.hook.map { "\t\t\($0);\n" } ?? "")
            out += chain.rules.map { "\t\t\($0)\n" }.joined() + "\t}\n"
        }
        return out + "}\n"
    }

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

    /// The difference between two tables, as `nft` commands or as raw nfnetlink operations.
    public struct Delta: Sendable {
        public let table: NftTable
        public var newSets: [Set] = []
        public var newChains: [Chain] = []
        public var changedChains: [Chain] = []
        public var staleElements: [(Set, [String])] = []
        public var addedElements: [(Set, [String])] = []
        public var deletedChains: [String] = []
        public var deletedSets: [Set] = []

        public init(table: NftTable) { self.table = table }

        public var isEmpty: Bool {
            newSets.isEmpty && newChains.isEmpty && changedChains.isEmpty && staleElements.isEmpty && addedElements.isEmpty
                && deletedChains.isEmpty && deletedSets.isEmpty
        }

        /// New objects first, then changed chains and elements, then what is gone, so nothing is deleted
        /// while something still refers to it.
        public var commands: String {
            var out = newSets.map(table.declare).joined() + newChains.map(table.declare).joined()
            for chain in changedChains { out += "flush chain \(table.prefix) \(chain.name)\n" + table.addRules(chain) }
            for chain in newChains { out += table.addRules(chain) }
            for (set, keys) in staleElements { out += table.deleteElements(set, keys) }
            for (set, keys) in addedElements { out += table.addElements(set, keys) }
            for chain in deletedChains { out += "flush chain \(table.prefix) \(chain)\ndelete chain \(table.prefix) \(chain)\n" }
            for set in deletedSets { out += "delete \(set.kind.rawValue) \(table.prefix) \(set.name)\n" }
            return out
        }

        /// The same change as raw nfnetlink operations, when it is of the kinds `NftBatch` writes (what an
        /// endpoint change is): elements of sets with a layout added or deleted, and existing chains rewritten
        /// with rules that are only a `goto` or `jump`. Nil otherwise: then the text goes through libnftables.
        public var batchOperations: [NftBatch.Operation]? {
            guard newSets.isEmpty, newChains.isEmpty, deletedChains.isEmpty, deletedSets.isEmpty else { return nil }
            var operations: [NftBatch.Operation] = []
            for (changes, add) in [(staleElements, false), (addedElements, true)] {
                for (set, keys) in changes {
                    guard let layout = set.layout else { return nil }
                    for key in keys {
                        guard let keyBytes = ElementLayout.encode(key, layout.key) else { return nil }
                        var valueBytes: [UInt8]?
                        if add, !layout.value.isEmpty {
                            guard let value = set.elements[key], let bytes = ElementLayout.encode(value, layout.value) else { return nil }
                            valueBytes = bytes
                        }
                        operations.append(.element(set: set.name, add: add, key: keyBytes, value: valueBytes))
                    }
                }
            }
            for chain in changedChains {
                operations.append(.flush(chain: chain.name))
                for rule in chain.rules {
                    let words = rule.split(separator: " ")
                    guard words.count == 2, words[0] == "goto" || words[0] == "jump" else { return nil }
                    operations.append(.verdict(chain: chain.name, goto: words[0] == "goto", target: String(words[1])))
                }
            }
            return operations
        }
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
