import Foundation

/// The kinds one server serves: the built-in ones (`Kinds`) and those added while it runs. Routing, discovery
/// and OpenAPI read a `Snapshot` per request; a change replaces the snapshot, so readers never wait on writers.
public final class KindTable: @unchecked Sendable {
    /// The table at one moment, with its lookups made once.
    public struct Snapshot: Sendable {
        public let kinds: [any KindStrategy]
        /// The kinds' descriptions, in the table's order (discovery reads them several times per answer).
        public let served: [ServedKind]
        /// Counts changes, so what is derived from a snapshot (OpenAPI documents) can be kept until the next.
        public let revision: Int
        private let byRoute: [String: any KindStrategy]

        init(_ kinds: [any KindStrategy], revision: Int) {
            self.kinds = kinds
            self.served = kinds.map(\.served)
            self.revision = revision
            byRoute = Dictionary(kinds.map { (Self.route($0.served.apiVersion, $0.served.resource), $0) }, uniquingKeysWith: { first, _ in first })
        }

        static func route(_ groupVersion: String, _ resource: String) -> String { "\(groupVersion)/\(resource)" }

        /// The kind served at `/<groupVersion>/<resource>`.
        public func entry(groupVersion: String, resource: String) -> (any KindStrategy)? { byRoute[Self.route(groupVersion, resource)] }

        /// The kinds of one group version (`v1`, `apps/v1`), in the table's order.
        public func served(groupVersion: String) -> [ServedKind] { served.filter { $0.apiVersion == groupVersion } }

        public func served(group: String, version: String) -> [ServedKind] { served.filter { $0.group == group && $0.version == version } }

        /// Every served group version, sorted: `apps/v1`, ..., `v1`.
        public var groupVersions: [String] { Set(served.map(\.apiVersion)).sorted() }

        /// The named groups (`/apis`), sorted; the legacy group "" is not among them.
        public var namedGroups: [String] { Set(served.map(\.group).filter { !$0.isEmpty }).sorted() }

        /// The versions a group serves, the preferred first (`ServedKind.versionPrecedes`).
        public func versions(of group: String) -> [String] {
            Set(served.filter { $0.group == group }.map(\.version)).sorted(by: ServedKind.versionPrecedes)
        }
    }

    /// Why a kind cannot be added: its path or its kind name is already served.
    public struct Conflict: Error, CustomStringConvertible {
        public let description: String
    }

    private let lock = NSLock()
    private var current: Snapshot
    /// The kinds the table started with, which it never removes.
    private let fixed: Int

    /// The built-in kinds alone, as every table starts.
    public static let builtin = Snapshot(Kinds.strategies, revision: 0)

    public init(_ kinds: [any KindStrategy] = Kinds.strategies) {
        current = Snapshot(kinds, revision: 0)
        fixed = kinds.count
    }

    public var snapshot: Snapshot { lock.withLock { current } }

    /// Serves one more kind. Its path and its kind within its group version must be new.
    public func add(_ kind: any KindStrategy) throws {
        let served = kind.served
        try lock.withLock {
            if current.entry(groupVersion: served.apiVersion, resource: served.resource) != nil {
                throw Conflict(description: "\(served.resource) is already served in \(served.apiVersion)")
            }
            if current.served(groupVersion: served.apiVersion).contains(where: { $0.kind == served.kind }) {
                throw Conflict(description: "kind \(served.kind) is already served in \(served.apiVersion)")
            }
            current = Snapshot(current.kinds + [kind], revision: current.revision + 1)
        }
    }

    /// Stops serving the kind added at `/<groupVersion>/<resource>`; the kinds the table started with stay.
    public func remove(groupVersion: String, resource: String) {
        lock.withLock {
            let added = current.kinds.dropFirst(fixed)
            let kept = added.filter { $0.served.apiVersion != groupVersion || $0.served.resource != resource }
            guard kept.count != added.count else { return }
            current = Snapshot(Array(current.kinds.prefix(fixed)) + kept, revision: current.revision + 1)
        }
    }
}
