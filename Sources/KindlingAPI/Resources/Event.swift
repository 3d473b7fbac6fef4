import Foundation
import KindlingAddresses

/// `v1 Event`: what controllers and agents report about an object (`kubectl describe` shows them, `kubectl
/// get events` lists them). Repeats of one report on one object are one Event whose count grows.
public struct Event: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Event"
    public static let resource = "events"
    public static let namespaced = true
    public static let shortNames = ["ev"]

    public struct ObjectReference: Codable, Hashable, Sendable {
        public var kind: String?
        public var namespace: String?
        public var name: String?
        public var uid: String?
        public var apiVersion: String?
        public var resourceVersion: String?
        public var fieldPath: String?

        public init(kind: String?, namespace: String?, name: String?, uid: String?, apiVersion: String?, fieldPath: String? = nil) {
            self.kind = kind
            self.namespace = namespace
            self.name = name
            self.uid = uid
            self.apiVersion = apiVersion
            self.fieldPath = fieldPath
        }

        /// A reference to `object`, as events name what they are about.
        public init<T: KubeObject>(_ object: T, fieldPath: String? = nil) {
            self.init(kind: T.kind, namespace: T.namespaced ? object.metadata.namespace : nil, name: object.name,
                      uid: object.metadata.uid, apiVersion: T.apiVersion, fieldPath: fieldPath)
        }
    }

    public struct Source: Codable, Hashable, Sendable {
        public var component: String?
        public var host: String?

        public init(component: String?, host: String? = nil) {
            self.component = component
            self.host = host
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    public var source: Source?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var count: Int?
    public var type: String?
    public var reportingComponent: String?
    public var reportingInstance: String?

    public init(metadata: ObjectMeta, involvedObject: ObjectReference) {
        self.metadata = metadata
        self.involvedObject = involvedObject
        stampTypeMeta()
    }

    public mutating func applyDefaults() {
        if type == nil { type = "Normal" }
        if count == nil { count = 1 }
    }

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        if let namespace = involvedObject.namespace, !namespace.isEmpty, namespace != metadata.namespace {
            errors.append(.invalid("involvedObject.namespace", namespace, "does not match event.namespace"))
        }
        if let type, !["Normal", "Warning"].contains(type) { errors.append(.unsupported("type", type, supported: ["Normal", "Warning"])) }
        if (reason ?? "").count > 128 { errors.append(FieldError(.tooLong, field: "reason", detail: "may not be more than 128 bytes")) }
        return errors
    }

    /// The event of one report on one object: named after the object and the report, so a repeat finds it
    /// (Kubernetes' recorder correlates repeats in memory; here the name does it).
    public static func name(for object: ObjectReference, reason: String, message: String) -> String {
        // At most 253 characters, as every name: the object's name is cut before the hash.
        "\((object.name ?? "").prefix(240)).\(String(FNV1a.hash32("\(object.uid ?? "")/\(reason)/\(message)".utf8), radix: 16))"
    }

    public static let selectableFields = ["metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace",
                                          "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
                                          "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "source", "type"]

    public func fieldValue(_ field: String) -> String? {
        switch field {
        case "involvedObject.kind": involvedObject.kind
        case "involvedObject.namespace": involvedObject.namespace
        case "involvedObject.name": involvedObject.name
        case "involvedObject.uid": involvedObject.uid
        case "involvedObject.apiVersion": involvedObject.apiVersion
        case "involvedObject.resourceVersion": involvedObject.resourceVersion
        case "involvedObject.fieldPath": involvedObject.fieldPath
        case "reason": reason
        case "source": source?.component
        case "type": type
        default: metadataFieldValue(field)
        }
    }
}

extension Event {
    /// A first report about `object` from `source` (`kubectl describe` shows it as "Type Reason Age From Message").
    public static func report<T: KubeObject>(about object: T, type: String = "Normal", reason: String, message: String,
                                             source: Source, fieldPath: String? = nil, now: String) -> Event {
        let reference = ObjectReference(object, fieldPath: fieldPath)
        var event = Event(metadata: ObjectMeta(name: name(for: reference, reason: reason, message: message),
                                               namespace: T.namespaced ? object.metadata.namespace : "default"),
                          involvedObject: reference)
        event.type = type
        event.reason = reason
        event.message = message
        event.source = source
        event.firstTimestamp = now
        event.lastTimestamp = now
        event.count = 1
        event.reportingComponent = source.component
        event.reportingInstance = source.host
        return event
    }

    /// The same report once more.
    public mutating func repeated(now: String) {
        count = (count ?? 1) + 1
        lastTimestamp = now
    }
}
