import Foundation
import GRDB

/// Where one object lives: its resource (group-qualified, `replicasets.apps`), namespace ("" when
/// cluster-scoped) and name.
public struct ObjectKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let resource: String
    public let namespace: String
    public let name: String

    public init(resource: String, namespace: String, name: String) {
        self.resource = resource
        self.namespace = namespace
        self.name = name
    }

    public var description: String { namespace.isEmpty ? "\(resource)/\(name)" : "\(resource)/\(namespace)/\(name)" }

    public static func < (a: ObjectKey, b: ObjectKey) -> Bool {
        (a.resource, a.namespace, a.name) < (b.resource, b.namespace, b.name)
    }
}

/// An object as stored: its JSON with `metadata.resourceVersion` already set to `revision`.
public struct StoredObject: Sendable, Equatable {
    public let key: ObjectKey
    public let revision: Int64
    public let data: Data
}

public struct StoreEvent: Sendable, Equatable {
    public enum Kind: String, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED" }
    public let kind: Kind
    public let object: StoredObject
}

public enum StoreError: Error, Equatable, Sendable {
    case alreadyExists(ObjectKey)
    case notFound(ObjectKey)
    /// The caller's resourceVersion is not the stored one (optimistic concurrency).
    case conflict(ObjectKey, stored: Int64)
    /// A watch asked to resume from a revision older than the kept history.
    case expired(requested: Int64, oldest: Int64)
}

/// The versioned object store: every write gets the next revision of one cluster-wide sequence (etcd's
/// mod_revision, which Kubernetes shows as resourceVersion), is committed to SQLite before it is
/// acknowledged, and is fanned out to watchers. Reads are served from memory.
///
/// Two locks, always taken in this order and never around anything but what is said here:
/// - `writeLock` makes writes one sequence: it is held while a write checks, encodes (the callers' closures
///   are pure) and commits to SQLite, so reads never wait for a commit;
/// - `stateLock` guards the memory (objects, revision, history, watchers) for moments: no I/O, no yield,
///   no callback. A watch's termination handler takes it too, which is safe because nothing holding it
///   calls into the Swift runtime or other code: events reach watchers through `WatchFanOut`'s thread.
public final class Store: @unchecked Sendable {
    private let writeLock = NSLock()
    private let stateLock = NSLock()
    private let database: DatabaseWriter
    private var objects: [String: [ObjectKey: StoredObject]] = [:]
    private var revision: Int64 = 0
    /// Recent events, oldest first, for watches that resume from a revision.
    private var history: [StoreEvent] = []
    /// Watches by resource, so a write looks only at the watches of its own resource.
    private var watchers: [String: [UUID: Watcher]] = [:]
    private let fanOut = WatchFanOut()

    /// How many past events a watch may resume from; older resumes get 410 Gone and relist.
    public let historyLimit: Int

    struct Watcher {
        let namespace: String?
        let continuation: AsyncStream<StoreEvent>.Continuation
    }

    /// Opens (or creates) the store at `path`; nil keeps it in memory only (tests).
    public init(path: String?, historyLimit: Int = 10_000) throws {
        self.historyLimit = historyLimit
        var config = Configuration()
        config.prepareDatabase { db in
            // Acknowledged writes survive a crash of the process or the machine.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        if let path {
            database = try DatabasePool(path: path, configuration: config)
        } else {
            database = try DatabaseQueue(configuration: config)
        }
        try database.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS objects (
                    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                    revision INTEGER NOT NULL, data BLOB NOT NULL,
                    PRIMARY KEY (resource, namespace, name));
                CREATE TABLE IF NOT EXISTS events (
                    revision INTEGER PRIMARY KEY, kind TEXT NOT NULL,
                    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                """)
        }
        try load()
    }

    deinit { fanOut.stop() }

    private func load() throws {
        try database.read { db in
            revision = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'revision'") ?? 0
            for row in try Row.fetchAll(db, sql: "SELECT resource, namespace, name, revision, data FROM objects") {
                let key = ObjectKey(resource: row["resource"], namespace: row["namespace"], name: row["name"])
                objects[key.resource, default: [:]][key] = StoredObject(key: key, revision: row["revision"], data: row["data"])
            }
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM events ORDER BY revision DESC LIMIT ?", arguments: [historyLimit])
            history = rows.reversed().map { row in
                let key = ObjectKey(resource: row["resource"], namespace: row["namespace"], name: row["name"])
                return StoreEvent(kind: StoreEvent.Kind(rawValue: row["kind"]) ?? .modified,
                                  object: StoredObject(key: key, revision: row["revision"], data: row["data"]))
            }
        }
    }

    // MARK: Reads

    public var currentRevision: Int64 { stateLock.withLock { revision } }

    public func get(_ key: ObjectKey) -> StoredObject? {
        stateLock.withLock { objects[key.resource]?[key] }
    }

    /// Objects of `resource` (in `namespace`, or all when nil), sorted by namespace and name, and the
    /// revision the list is consistent with.
    public func list(_ resource: String, namespace: String? = nil) -> (objects: [StoredObject], revision: Int64) {
        stateLock.withLock {
            let all = objects[resource, default: [:]].values.filter { namespace == nil || $0.key.namespace == namespace }
            return (all.sorted { $0.key < $1.key }, revision)
        }
    }

    // MARK: Writes

    /// Stores a new object. `encode` is given the revision to write into the object's resourceVersion.
    @discardableResult
    public func create(_ key: ObjectKey, encode: (Int64) throws -> Data) throws -> StoredObject {
        try write(key, kind: .added) { existing in
            if existing != nil { throw StoreError.alreadyExists(key) }
        } encode: { rev, _ in try encode(rev) }
    }

    /// Replaces an object; with `expected`, only if it is still at that revision.
    @discardableResult
    public func update(_ key: ObjectKey, expected: Int64? = nil, encode: (Int64, StoredObject) throws -> Data) throws -> StoredObject {
        try write(key, kind: .modified) { existing in
            guard let existing else { throw StoreError.notFound(key) }
            if let expected, expected != existing.revision { throw StoreError.conflict(key, stored: existing.revision) }
        } encode: { rev, existing in try encode(rev, existing!) }
    }

    /// Removes an object. `encode` gives its final state (stamped with the deletion's revision) for watchers.
    @discardableResult
    public func delete(_ key: ObjectKey, expected: Int64? = nil, encode: (Int64, StoredObject) throws -> Data) throws -> StoredObject {
        try write(key, kind: .deleted) { existing in
            guard let existing else { throw StoreError.notFound(key) }
            if let expected, expected != existing.revision { throw StoreError.conflict(key, stored: existing.revision) }
        } encode: { rev, existing in try encode(rev, existing!) }
    }

    private func write(_ key: ObjectKey, kind: StoreEvent.Kind, check: (StoredObject?) throws -> Void,
                       encode: (Int64, StoredObject?) throws -> Data) throws -> StoredObject {
        try writeLock.withLock {
            // Only writers change objects and revision, and they hold writeLock: these stay true until the end.
            let (existing, next, pruneBelow) = stateLock.withLock {
                (objects[key.resource]?[key], revision + 1,
                 history.count >= historyLimit + historyLimit / 10 ? history[history.count - historyLimit].object.revision : nil)
            }
            try check(existing)
            let object = StoredObject(key: key, revision: next, data: try encode(next, existing))
            try commit(object, kind: kind, pruneBelow: pruneBelow)
            let event = StoreEvent(kind: kind, object: object)
            stateLock.withLock {
                revision = next
                if kind == .deleted {
                    objects[key.resource]?[key] = nil
                } else {
                    objects[key.resource, default: [:]][key] = object
                }
                history.append(event)
                if let pruneBelow { history.removeAll { $0.object.revision < pruneBelow } }
                let targets = watchers[key.resource, default: [:]].values
                    .filter { $0.namespace == nil || $0.namespace == key.namespace }.map(\.continuation)
                fanOut.send([event], to: targets)
            }
            return object
        }
    }

    private func commit(_ object: StoredObject, kind: StoreEvent.Kind, pruneBelow: Int64?) throws {
        let key = object.key
        try database.write { db in
            if kind == .deleted {
                try db.execute(sql: "DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                               arguments: [key.resource, key.namespace, key.name])
            } else {
                try db.execute(sql: "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                               arguments: [key.resource, key.namespace, key.name, object.revision, object.data])
            }
            try db.execute(sql: "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [object.revision, kind.rawValue, key.resource, key.namespace, key.name, object.data])
            try db.execute(sql: "INSERT OR REPLACE INTO meta VALUES ('revision', ?)", arguments: [object.revision])
            if let pruneBelow { try db.execute(sql: "DELETE FROM events WHERE revision < ?", arguments: [pruneBelow]) }
        }
    }

    // MARK: Watch

    /// Events of `resource` after revision `from`. With `from` nil (or 0), first an ADDED event for every current
    /// object, then what changes, as a Kubernetes watch without resourceVersion does.
    public func watch(_ resource: String, namespace: String? = nil, from: Int64?) throws -> AsyncStream<StoreEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: StoreEvent.self)
        let id = UUID()
        try stateLock.withLock {
            // What the watch starts with is queued before any later write's event, under the same lock.
            if let from, from > 0 {
                if from < revision {
                    let oldest = history.first?.object.revision ?? revision + 1
                    // Resuming needs every event after `from`: the first kept one must be at most from + 1.
                    if oldest > from + 1 { throw StoreError.expired(requested: from, oldest: oldest) }
                    let missed = history.filter { event in
                        event.object.revision > from && event.object.key.resource == resource
                            && (namespace == nil || event.object.key.namespace == namespace)
                    }
                    fanOut.send(missed, to: [continuation])
                }
            } else {
                let current = objects[resource, default: [:]].values
                    .filter { namespace == nil || $0.key.namespace == namespace }.sorted { $0.key < $1.key }
                fanOut.send(current.map { StoreEvent(kind: .added, object: $0) }, to: [continuation])
            }
            watchers[resource, default: [:]][id] = Watcher(namespace: namespace, continuation: continuation)
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.stateLock.withLock { _ = self.watchers[resource]?.removeValue(forKey: id) }
        }
        return stream
    }

    public var watcherCount: Int { stateLock.withLock { watchers.values.reduce(0) { $0 + $1.count } } }
}
