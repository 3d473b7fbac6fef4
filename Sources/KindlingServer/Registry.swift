import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingMachinery
import KindlingStore

/// The API's rules for reading and writing objects of any served kind, over the store: defaulting,
/// validation, metadata bookkeeping, optimistic concurrency, graceful deletion. Every operation takes the
/// kind's strategy and its objects, as kube-apiserver's generic registry does, so a kind added at run time
/// (`kinds`) goes through the same code as a built-in one; `Registry+Typed` gives built-in kinds by type. The
/// HTTP layer and the in-process controllers both write through here, so both get the same rules.
public final class Registry: Sendable {
    public let store: Store
    /// The kinds served: the built-in ones and those added while the server runs.
    public let kinds: KindTable
    let clock: @Sendable () -> Date
    let decoded = DecodedObjects()
    let admission: any Admission
    /// Admission decisions that depend on other objects (a free cluster IP) and the write that follows them
    /// happen as one step.
    let admissionLock = NSLock()

    public init(store: Store, admission: any Admission = NoAdmission(), kinds: KindTable = KindTable(),
                clock: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.kinds = kinds
        self.admission = admission
        self.clock = clock
    }

    public var now: String { Registry.timestamp(clock()) }

    public static func timestamp(_ date: Date) -> String { Timestamp.string(date) }

    static func key<S: KindStrategy>(_ kind: S, namespace: String, name: String) -> ObjectKey {
        ObjectKey(resource: kind.served.groupResource.description, namespace: kind.served.namespaced ? namespace : "", name: name)
    }

    static func decode<T: APIObject>(_ type: T.Type, _ object: StoredObject) throws -> T {
        try KubeJSON.decoder.decode(T.self, from: object.data)
    }

    /// Like `decode`, but each stored revision is decoded once: controllers list every pod on every change,
    /// and decoding JSON was most of what that cost.
    func typed<T: APIObject>(_ type: T.Type, _ object: StoredObject) throws -> T {
        if let hit = decoded.get(object.key, revision: object.revision) as? T { return hit }
        let value = try Registry.decode(T.self, object)
        decoded.put(object.key, revision: object.revision, value)
        return value
    }

    /// The object as stored: its revision as resourceVersion, and the apiVersion and kind it is served as.
    static func encode<T: APIObject>(_ object: T, as served: ServedKind, revision: Int64) throws -> Data {
        var object = object
        object.metadata.resourceVersion = String(revision)
        object.apiVersion = served.apiVersion
        object.kind = served.kind
        return try KubeJSON.encoder.encode(object)
    }

    // MARK: Reads

    public func get<S: KindStrategy>(_ kind: S, namespace: String = "", name: String) throws -> S.Object {
        guard let stored = store.get(Registry.key(kind, namespace: namespace, name: name)) else {
            throw Status.notFound(kind.served.groupResource, name)
        }
        return Registry.served(try typed(S.Object.self, stored), as: kind)
    }

    /// The object as `kind`'s version serves it. A custom kind's versions share their objects and convert
    /// between them by apiVersion alone (conversion `None`), so reading at a version restates that.
    static func served<S: KindStrategy>(_ object: S.Object, as kind: S) -> S.Object {
        guard object.apiVersion != kind.served.apiVersion else { return object }
        var object = object
        object.apiVersion = kind.served.apiVersion
        return object
    }

    public func list<S: KindStrategy>(_ kind: S, namespace: String? = nil, selector: Selector = .everything,
                                      fields: FieldSelector = .everything) throws -> ObjectList<S.Object> {
        let served = kind.served
        let (objects, revision) = store.list(served.groupResource.description, namespace: served.namespaced ? namespace : nil)
        let items = try objects.map { Registry.served(try typed(S.Object.self, $0), as: kind) }
            .filter { object in selector.matches(object.metadata.labels ?? [:]) && fields.matches { kind.fieldValue(object, $0) } }
        return ObjectList(items: items, resourceVersion: String(revision), of: served)
    }

    // MARK: Writes

    /// Creates an object as POST does: defaults, validation, a name from generateName, uid, timestamps.
    /// With `dryRun`, all of that and admission happen but nothing is stored.
    public func create<S: KindStrategy>(_ object: S.Object, as kind: S, namespace requestNamespace: String? = nil, dryRun: Bool = false,
                                        writer: ManagedFields.Writer? = nil) throws -> S.Object {
        let served = kind.served
        var object = object
        if served.namespaced {
            let namespace = requestNamespace ?? object.metadata.namespace ?? "default"
            if let own = object.metadata.namespace, !own.isEmpty, own != namespace {
                throw Status.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            object.metadata.namespace = namespace
        } else {
            object.metadata.namespace = nil
        }
        if (object.metadata.name ?? "").isEmpty, let prefix = object.metadata.generateName, !prefix.isEmpty {
            object.metadata.name = prefix + Registry.randomSuffix()
        }
        // The uid first: a kind's create may derive from it (a Job's generated selector).
        object.metadata.uid = UUID().uuidString.lowercased()
        kind.applyDefaults(&object)
        kind.prepareForCreate(&object)
        if let writer {
            object.metadata.managedFields = Registry.recordUpdate(served, old: nil, new: try KubeJSON.tree(object), entries: [], writer: writer, now: now)
        }
        try validate(object, nil, as: kind)
        if served.namespaced { try requireActiveNamespace(object.namespace, for: served.groupResource) }
        object.metadata.creationTimestamp = now
        object.metadata.generation = 1
        object.metadata.deletionTimestamp = nil
        object.metadata.resourceVersion = nil
        let key = Registry.key(kind, namespace: object.namespace, name: object.name)
        if store.get(key) != nil { throw Status.alreadyExists(served.groupResource, object.name) }
        do {
            return try admissionLock.withLock {
                object = try admission.admit(object, old: nil, registry: self)
                if dryRun { return object }
                let stored = try store.create(key) { try Registry.encode(object, as: served, revision: $0) }
                return try Registry.decode(S.Object.self, stored)
            }
        } catch StoreError.alreadyExists {
            throw Status.alreadyExists(served.groupResource, object.name)
        }
    }

    /// What an update may change: the whole object but its status, or only its status.
    public enum UpdateScope: Sendable { case main, status, ephemeralContainers }

    /// Replaces an object as PUT does. A set resourceVersion must be the stored one (409 otherwise). A kind
    /// with a status subresource keeps its status through the main resource and the rest through `status`.
    public func update<S: KindStrategy>(_ object: S.Object, as kind: S, namespace: String = "", name: String? = nil,
                                        scope: UpdateScope = .main, dryRun: Bool = false, writer: ManagedFields.Writer? = nil) throws -> S.Object {
        let name = name ?? object.name
        if let own = object.metadata.name, !own.isEmpty, own != name {
            throw Status.badRequest("the name of the object (\(own)) does not match the name on the URL (\(name))")
        }
        let expected = try object.metadata.resourceVersion.flatMap { text -> Int64? in
            guard !text.isEmpty else { return nil }
            guard let value = Int64(text) else { throw Status.badRequest("invalid resourceVersion \"\(text)\"") }
            return value
        }
        return try modify(kind, namespace: namespace, name: name, expected: expected, dryRun: dryRun, writer: writer) { old in
            var new = object
            new.metadata.name = name
            switch scope {
            case .main: new = Registry.mainWrite(new, over: old, as: kind)
            case .status: new = Registry.withStatus(of: new, on: old)
                new.metadata.labels = object.metadata.labels ?? old.metadata.labels
                new.metadata.annotations = object.metadata.annotations ?? old.metadata.annotations
            case .ephemeralContainers: new = Registry.withEphemeralContainers(of: new, on: old)
            }
            return new
        }
    }

    /// Reads, changes and writes back one object, retrying on conflicting writes when `expected` is nil.
    /// Immutable metadata is kept; generation increases when anything but metadata and status changed.
    @discardableResult
    public func modify<S: KindStrategy>(_ kind: S, namespace: String = "", name: String, expected: Int64? = nil, dryRun: Bool = false,
                                        writer: ManagedFields.Writer? = nil, _ change: (S.Object) throws -> S.Object) throws -> S.Object {
        let served = kind.served
        let key = Registry.key(kind, namespace: namespace, name: name)
        while true {
            guard let stored = store.get(key) else { throw Status.notFound(served.groupResource, name) }
            let old = try Registry.decode(S.Object.self, stored)
            var new = try change(old)
            Registry.keepImmutableMetadata(of: old, in: &new)
            kind.applyDefaults(&new)
            // One JSON tree of each for both: who changed which fields, and whether the spec changed.
            let (oldTree, newTree) = (try KubeJSON.tree(old), try KubeJSON.tree(new))
            if let writer {
                new.metadata.managedFields = Registry.recordUpdate(served, old: oldTree, new: newTree, entries: new.metadata.managedFields ?? [],
                                                                   writer: writer, now: now)
            }
            new.metadata.generation = Registry.specChanged(oldTree, newTree) ? (old.metadata.generation ?? 1) + 1 : old.metadata.generation
            try validate(new, old, as: kind)
            if dryRun { return try admissionLock.withLock { try admission.admit(new, old: old, registry: self) } }
            if new.metadata.deletionTimestamp != nil, (new.metadata.finalizers ?? []).isEmpty,
               old.metadata.finalizers?.isEmpty == false {
                // The last finalizer is gone from an object being deleted: it goes now.
                _ = try? remove(kind, namespace: namespace, name: name)
                return new
            }
            do {
                let written = try admissionLock.withLock {
                    let admitted = try admission.admit(new, old: old, registry: self)
                    return try store.update(key, expected: expected ?? stored.revision) { revision, _ in
                        try Registry.encode(admitted, as: served, revision: revision)
                    }
                }
                return try Registry.decode(S.Object.self, written)
            } catch StoreError.conflict {
                if expected != nil {
                    throw Status.conflict(served.groupResource, name, "the object has been modified; please apply your changes to the latest version and try again")
                }
            } catch StoreError.notFound {
                throw Status.notFound(served.groupResource, name)
            }
        }
    }

    /// What no write changes (uid, creation, deletion marks, generateName), and the managed fields a write
    /// leaves out (or sends as []); `[{}]` clears those, as in kube-apiserver.
    static func keepImmutableMetadata<T: APIObject>(of old: T, in new: inout T) {
        new.metadata.namespace = old.metadata.namespace
        new.metadata.uid = old.metadata.uid
        new.metadata.creationTimestamp = old.metadata.creationTimestamp
        new.metadata.deletionTimestamp = old.metadata.deletionTimestamp
        new.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds
        new.metadata.generateName = old.metadata.generateName
        if new.metadata.managedFields?.isEmpty ?? true { new.metadata.managedFields = old.metadata.managedFields }
        if let entries = new.metadata.managedFields, entries.count == 1, entries[0].manager.isEmpty { new.metadata.managedFields = nil }
    }

    /// Deletes as DELETE does. Objects with finalizers, and those their kind deletes gracefully
    /// (`KindStrategy.deletionGrace`), are marked with a deletionTimestamp instead. Returns the object's last state.
    @discardableResult
    public func delete<S: KindStrategy>(_ kind: S, namespace: String = "", name: String,
                                        gracePeriodSeconds: Int64? = nil, expectedUID: String? = nil) throws -> S.Object {
        let current = try get(kind, namespace: namespace, name: name)
        if let expectedUID, current.metadata.uid != expectedUID {
            throw Status.conflict(kind.served.groupResource, name,
                                  "Precondition failed: UID in precondition: \(expectedUID), UID in object meta: \(current.metadata.uid ?? "")")
        }
        // The kind decides whether deletion waits (a bound pod, a namespace); finalizers make any object wait.
        let grace = kind.deletionGrace(current, requested: gracePeriodSeconds) ?? ((current.metadata.finalizers ?? []).isEmpty ? nil : 0)
        if let grace {
            if current.metadata.deletionTimestamp != nil { return current }
            let key = Registry.key(kind, namespace: namespace, name: name)
            var marked = current
            marked.metadata.deletionTimestamp = Registry.timestamp(clock().addingTimeInterval(Double(grace)))
            marked.metadata.deletionGracePeriodSeconds = grace
            kind.markForDeletion(&marked)
            let written = try store.update(key) { revision, _ in try Registry.encode(marked, as: kind.served, revision: revision) }
            return try Registry.decode(S.Object.self, written)
        }
        return try remove(kind, namespace: namespace, name: name)
    }

    /// Removes an object from the store now, whatever its finalizers.
    @discardableResult
    public func remove<S: KindStrategy>(_ kind: S, namespace: String = "", name: String) throws -> S.Object {
        let key = Registry.key(kind, namespace: namespace, name: name)
        do {
            let stored = try store.delete(key) { revision, existing in
                var object = try Registry.decode(S.Object.self, existing)
                if object.metadata.deletionTimestamp == nil { object.metadata.deletionTimestamp = now }
                return try Registry.encode(object, as: kind.served, revision: revision)
            }
            return try Registry.decode(S.Object.self, stored)
        } catch StoreError.notFound {
            throw Status.notFound(kind.served.groupResource, name)
        }
    }

    // MARK: Watch

    /// Changes to objects of the kind after `resourceVersion` (all current objects first when nil), filtered
    /// by selectors. An object that stops matching is reported as DELETED, as the apiserver's watch cache does.
    public func watch<S: KindStrategy>(_ kind: S, namespace: String? = nil, resourceVersion: Int64?, selector: Selector = .everything,
                                       fields: FieldSelector = .everything) throws -> AsyncStream<WatchEvent<S.Object>> {
        let events: AsyncStream<StoreEvent>
        do {
            events = try store.watch(kind.served.groupResource.description, namespace: kind.served.namespaced ? namespace : nil, from: resourceVersion)
        } catch StoreError.expired(let requested, let oldest) {
            throw Status.gone("too old resource version: \(requested) (\(oldest - 1))")
        }
        return AsyncStream { continuation in
            let task = Task {
                for await event in events {
                    // Decoded once per revision, however many watches see it.
                    guard let object = try? Registry.served(self.typed(S.Object.self, event.object), as: kind) else { continue }
                    guard selector.matches(object.metadata.labels ?? [:]) && fields.matches({ kind.fieldValue(object, $0) }) else { continue }
                    let type: WatchEvent<S.Object>.EventType = switch event.kind {
                    case .added: .added
                    case .modified: .modified
                    case .deleted: .deleted
                    }
                    continuation.yield(WatchEvent(type: type, object: object))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Rules

    func validate<S: KindStrategy>(_ object: S.Object, _ old: S.Object?, as kind: S) throws {
        var errors = MetadataValidation.validate(object.metadata, namespaced: kind.served.namespaced, nameRule: kind.nameProblems)
        errors += kind.validate(object, old: old)
        if !errors.isEmpty {
            throw Status.invalid(kind: kind.served.kind, group: kind.served.group, name: object.name, errors: errors)
        }
        try RBACEscalation.check(object, old: old, registry: self)
    }

    func requireActiveNamespace(_ namespace: String, for resource: GroupResource) throws {
        guard let stored = store.get(Registry.key(Namespace.strategy, namespace: "", name: namespace)) else {
            throw Status.notFound(Namespace.groupResource, namespace)
        }
        let ns = try Registry.decode(Namespace.self, stored)
        if ns.metadata.deletionTimestamp != nil {
            throw Status.forbidden(resource, "", "unable to create new content in namespace \(namespace) because it is being terminated")
        }
    }

    /// The managed fields after `writer` made `new` from `old` (trees of one kind's objects); nil when none remain.
    static func recordUpdate(_ served: ServedKind, old: [String: Any]?, new: [String: Any], entries: [ManagedFieldsEntry],
                             writer: ManagedFields.Writer, now: String) -> [ManagedFieldsEntry]? {
        let updated = ManagedFields.recordUpdate(old: old, new: new, entries: entries, writer: writer, kind: served.kind,
                                                 apiVersion: served.apiVersion, now: now)
        return updated.isEmpty ? nil : updated
    }

    /// What a write to the main resource stores: for a kind with a status subresource, the stored status stays
    /// (only `status` writes it); for any other kind, the object as written.
    static func mainWrite<S: KindStrategy>(_ new: S.Object, over old: S.Object, as kind: S) -> S.Object {
        let kept = kind.hasStatus ? withStatus(of: old, on: new) : new
        // A pod's ephemeral containers change only through their subresource, as upstream has it.
        return S.Object.self == Pod.self ? withEphemeralContainers(of: old, on: kept) : kept
    }

    /// The pod `onto` with `source`'s ephemeral containers.
    static func withEphemeralContainers<T: APIObject>(of source: T, on onto: T) -> T {
        guard let sourceTree = try? KubeJSON.tree(source), var ontoTree = try? KubeJSON.tree(onto),
              var spec = ontoTree["spec"] as? [String: Any] else { return onto }
        spec["ephemeralContainers"] = (sourceTree["spec"] as? [String: Any])?["ephemeralContainers"]
        ontoTree["spec"] = spec
        return (try? KubeJSON.value(T.self, from: ontoTree)) ?? onto
    }

    /// The object `onto` with `source`'s status (through a JSON tree, so it works for every kind).
    static func withStatus<T: APIObject>(of source: T, on onto: T) -> T {
        guard let sourceTree = try? KubeJSON.tree(source), var ontoTree = try? KubeJSON.tree(onto) else { return onto }
        ontoTree["status"] = sourceTree["status"]
        return (try? KubeJSON.value(T.self, from: ontoTree)) ?? onto
    }

    /// Whether anything but metadata and status differs between two objects' trees (what bumps metadata.generation).
    static func specChanged(_ a: [String: Any], _ b: [String: Any]) -> Bool {
        func body(_ tree: [String: Any]) -> NSDictionary {
            var tree = tree
            tree["metadata"] = nil
            tree["status"] = nil
            return tree as NSDictionary
        }
        return body(a) != body(b)
    }

    static func randomSuffix() -> String {
        // Kubernetes' generateName alphabet: no vowels or look-alike digits.
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }
}

/// Decoded objects by key, each valid for one revision.
final class DecodedObjects: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [ObjectKey: (revision: Int64, value: any Sendable)] = [:]

    func get(_ key: ObjectKey, revision: Int64) -> (any Sendable)? {
        lock.withLock { entries[key].flatMap { $0.revision == revision ? $0.value : nil } }
    }

    func put(_ key: ObjectKey, revision: Int64, _ value: any Sendable) {
        lock.withLock {
            entries[key] = (revision, value)
            // Keys of deleted objects would otherwise stay forever; it is only a cache, so start over when large.
            if entries.count > 50_000 { entries.removeAll() }
        }
    }
}
