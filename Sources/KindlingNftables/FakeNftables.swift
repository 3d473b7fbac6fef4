import Foundation

/// nf_tables as a model, for unit tests of what programs it (as knftables' fake is): tables kept as `NftTable`
/// values, transactions all-or-nothing, a generation that every commit moves on, and the refusals of the kernel
/// and libnftables that kindling's appliers can meet: a missing table, chain, set or element (ENOENT), a chain
/// or set deleted while a rule or element still refers to it (EBUSY), a map element given another value
/// (EBUSY), a jump to a base chain (EOPNOTSUPP), and text it does not understand. `refuseNext` refuses calls
/// whatever they carry, as a kernel short of memory would, for the callers' fallback paths.
///
/// It understands the commands `NftTable` writes (one per line) and `list table`; batches need the set's
/// element layout, worked out from its declaration as the kernel does from its key type.
public final class FakeNftables: Nftables, @unchecked Sendable {
    public enum Channel: Sendable, Equatable { case text, batch }

    private let lock = NSLock()
    private var tables: [String: NftTable] = [:]
    private var currentGeneration: UInt32 = 1
    private var refusals: [Channel] = []
    private var log: [Channel] = []

    public init() {}

    /// The transactions that took effect, in order (listings are not transactions).
    public var commits: [Channel] { lock.withLock { log } }

    /// The next call on each channel listed fails with ENOMEM and changes nothing.
    public func refuseNext(_ channels: Channel...) { lock.withLock { refusals += channels } }

    /// The table as the model holds it; nil when there is none.
    public func table(_ family: String, _ name: String) -> NftTable? { lock.withLock { tables["\(family) \(name)"] } }

    @discardableResult
    public func run(_ commands: String) throws -> String {
        try lock.withLock {
            try refuseIfAsked(.text)
            var working = tables
            var output = ""
            var changed = false
            for line in commands.split(separator: "\n").map(String.init) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                do {
                    if let listing = try Self.apply(trimmed, to: &working) { output += listing } else { changed = true }
                } catch let errno as Errno {
                    throw NftablesError("Error: Could not process rule: \(errno.message)\n\(trimmed)\n")
                }
            }
            if changed { install(working, .text) }
            return output
        }
    }

    public func commit(_ operations: [NftBatch.Operation], table: String) throws {
        try lock.withLock {
            try refuseIfAsked(.batch)
            var working = tables
            do {
                guard var model = working["ip \(table)"] else { throw Errno.noEntry }
                for operation in operations { try Self.apply(operation, to: &model) }
                working["ip \(table)"] = model
            } catch let errno as Errno {
                throw NftablesError("nfnetlink commit: \(errno.message)")
            }
            install(working, .batch)
        }
    }

    public func generation() throws -> UInt32 { lock.withLock { currentGeneration } }

    private func refuseIfAsked(_ channel: Channel) throws {
        guard let index = refusals.firstIndex(of: channel) else { return }
        refusals.remove(at: index)
        throw NftablesError(channel == .text ? "Error: Could not process rule: Cannot allocate memory" : "nfnetlink commit: Cannot allocate memory")
    }

    private func install(_ working: [String: NftTable], _ channel: Channel) {
        tables = working
        currentGeneration &+= 1
        log.append(channel)
    }

    /// The kernel's answers, by errno.
    enum Errno: Error {
        case noEntry, busy, exists, notSupported, invalid(String)

        var message: String {
            switch self {
            case .noEntry: "No such file or directory"
            case .busy: "Device or resource busy"
            case .exists: "File exists"
            case .notSupported: "Operation not supported"
            case .invalid(let why): "Invalid argument (\(why))"
            }
        }
    }
}

extension FakeNftables {
    /// Applies one command; a listing for `list table`, nil for a change.
    static func apply(_ line: String, to tables: inout [String: NftTable]) throws -> String? {
        let words = line.split(separator: " ", maxSplits: 4).map(String.init)
        guard words.count >= 4 else { throw Errno.invalid("syntax: \(line)") }
        let key = "\(words[2]) \(words[3])"
        let rest = words.count > 4 ? words[4] : ""
        switch (words[0], words[1]) {
        case ("add", "table"):
            if tables[key] == nil { tables[key] = NftTable(family: words[2], name: words[3]) }
        case ("delete", "table"):
            guard tables.removeValue(forKey: key) != nil else { throw Errno.noEntry }
        case ("list", "table"):
            guard let table = tables[key] else { throw Errno.noEntry }
            return table.listing
        default:
            guard var table = tables[key] else { throw Errno.noEntry }
            try apply(verb: words[0], object: words[1], rest, to: &table)
            tables[key] = table
        }
        return nil
    }

    static func apply(verb: String, object: String, _ rest: String, to table: inout NftTable) throws {
        let (name, body) = split(rest)
        switch (verb, object) {
        case ("add", "chain"):
            let hook = body.map { $0.hasSuffix(" ;") ? String($0.dropLast(2)) : $0 }
            if let existing = table.chains.first(where: { $0.name == name }) {
                guard existing.hook == hook else { throw Errno.notSupported }
            } else {
                table.add(NftTable.Chain(name, hook: hook))
            }
        case ("add", "set"), ("add", "map"):
            let kind = NftTable.Set.Kind(rawValue: object)!
            if let existing = table.sets.first(where: { $0.name == name }) {
                guard existing.kind == kind, existing.declaration == body else { throw Errno.exists }
            } else {
                table.add(NftTable.Set(kind, name, body ?? "", layout: NftTable.ElementLayout(declaration: body ?? "")))
            }
        case ("add", "rule"):
            let (chain, rule) = split(rest, words: true)
            try addRule(rule ?? "", to: chain, in: &table)
        case ("flush", "chain"):
            guard let index = table.chains.firstIndex(where: { $0.name == name }) else { throw Errno.noEntry }
            table.chains[index].rules = []
        case ("delete", "chain"):
            guard let index = table.chains.firstIndex(where: { $0.name == name }) else { throw Errno.noEntry }
            // The kernel deletes the chain's own rules with it, but not a chain something else jumps to.
            var without = table
            without.chains.remove(at: index)
            guard !references(in: without).chains.contains(name) else { throw Errno.busy }
            table = without
        case ("delete", "set"), ("delete", "map"):
            guard let index = table.sets.firstIndex(where: { $0.name == name && $0.kind.rawValue == object }) else { throw Errno.noEntry }
            guard !references(in: table).sets.contains(name) else { throw Errno.busy }
            table.sets.remove(at: index)
        case ("add", "element"), ("delete", "element"):
            guard let index = table.sets.firstIndex(where: { $0.name == name }) else { throw Errno.noEntry }
            for item in elements(body ?? "") {
                try change(&table, set: index, add: verb == "add", key: item.key, value: table.sets[index].kind == .map ? item.value : "")
            }
        default:
            throw Errno.invalid("syntax: \(verb) \(object)")
        }
    }

    static func apply(_ operation: NftBatch.Operation, to table: inout NftTable) throws {
        switch operation {
        case .flush(let chain):
            guard let index = table.chains.firstIndex(where: { $0.name == chain }) else { throw Errno.noEntry }
            table.chains[index].rules = []
        case .verdict(let chain, let goto, let target):
            try addRule("\(goto ? "goto" : "jump") \(target)", to: chain, in: &table)
        case .element(let set, let add, let keyBytes, let valueBytes):
            guard let index = table.sets.firstIndex(where: { $0.name == set }) else { throw Errno.noEntry }
            guard let layout = table.sets[index].layout, let key = NftTable.ElementLayout.decode(keyBytes, layout.key) else {
                throw Errno.invalid("key of \(set)")
            }
            var value = ""
            if add, !layout.value.isEmpty {
                guard let valueBytes, let text = NftTable.ElementLayout.decode(valueBytes, layout.value) else { throw Errno.invalid("value of \(set)") }
                value = text
            }
            try change(&table, set: index, add: add, key: key, value: value)
        }
    }

    static func addRule(_ rule: String, to chain: String, in table: inout NftTable) throws {
        guard let index = table.chains.firstIndex(where: { $0.name == chain }) else { throw Errno.noEntry }
        try checkReferences(rule, in: table)
        table.chains[index].rules.append(rule)
    }

    static func change(_ table: inout NftTable, set index: Int, add: Bool, key: String, value: String) throws {
        let set = table.sets[index]
        if let layout = set.layout {
            guard NftTable.ElementLayout.encode(key, layout.key) != nil else { throw Errno.invalid("element \(key) of \(set.name)") }
        }
        if add {
            if let existing = set.elements[key] {
                guard existing == value else { throw Errno.busy }
                return
            }
            try checkReferences(value, in: table)
            table.sets[index].elements[key] = value
        } else {
            guard table.sets[index].elements.removeValue(forKey: key) != nil else { throw Errno.noEntry }
        }
    }

    /// A rule or element may only name sets and chains that exist, and jump to regular chains only.
    static func checkReferences(_ text: String, in table: NftTable) throws {
        let named = references(text)
        for chain in named.chains {
            guard let target = table.chains.first(where: { $0.name == chain }) else { throw Errno.noEntry }
            guard target.hook == nil else { throw Errno.notSupported }
        }
        for set in named.sets where !table.sets.contains(where: { $0.name == set }) { throw Errno.noEntry }
    }

    /// What a table's rules and map elements refer to.
    static func references(in table: NftTable) -> (chains: Set<String>, sets: Set<String>) {
        var chains = Set<String>(), sets = Set<String>()
        let texts = table.chains.flatMap(\.rules) + table.sets.flatMap { $0.elements.values }
        for text in texts {
            let named = references(text)
            chains.formUnion(named.chains)
            sets.formUnion(named.sets)
        }
        return (chains, sets)
    }

    /// The chains (`jump X`, `goto X`) and sets (`@X`) one rule or verdict names, outside quoted comments.
    static func references(_ text: String) -> (chains: [String], sets: [String]) {
        let unquoted = text.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let words = unquoted.joined(separator: " ").split(separator: " ").map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: ",}")) }
        var chains: [String] = [], sets: [String] = []
        for (index, word) in words.enumerated() {
            if (word == "jump" || word == "goto"), index + 1 < words.count { chains.append(words[index + 1]) }
            if word.hasPrefix("@") { sets.append(String(word.dropFirst())) }
        }
        return (chains, sets)
    }

    /// `name { body }` into its parts (`words`: the first word and the rest, for `add rule`).
    static func split(_ text: String, words: Bool = false) -> (String, String?) {
        if words {
            let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        }
        guard let open = text.range(of: " { "), text.hasSuffix(" }") else { return (text, nil) }
        return (String(text[..<open.lowerBound]), String(text[open.upperBound..<text.index(text.endIndex, offsetBy: -2)]))
    }

    /// The elements of `{ a, b }` or `{ k : v, ... }`.
    static func elements(_ body: String) -> [(key: String, value: String)] {
        body.components(separatedBy: ", ").map { item in
            let parts = item.components(separatedBy: " : ")
            return (parts[0].trimmingCharacters(in: .whitespaces), parts.dropFirst().joined(separator: " : ").trimmingCharacters(in: .whitespaces))
        }
    }
}
