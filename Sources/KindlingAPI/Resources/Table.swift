import Foundation

/// `meta.k8s.io/v1 Table`: what `kubectl get` asks the server for (`Accept: application/json;as=Table;v=v1;
/// g=meta.k8s.io`) and prints as it comes: column definitions (priority 1 only with `-o wide`) and one row per
/// object, each carrying the object's metadata (kubectl's `-A` and `--show-labels` columns come from it).
public struct Table: Codable, Sendable, Equatable {
    public struct Column: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public var format: String
        public var description: String
        public var priority: Int

        public init(name: String, type: String, format: String, description: String, priority: Int) {
            self.name = name
            self.type = type
            self.format = format
            self.description = description
            self.priority = priority
        }
    }

    /// A cell: a string or number for the built-in kinds' columns; any JSON value (null when the path finds
    /// nothing) for a custom kind's declared ones.
    public typealias Cell = JSONValue

    public struct Row: Codable, Sendable, Equatable {
        public var cells: [Cell]
        /// The row's object: its metadata as a `PartialObjectMetadata`, or (`includeObject=Object`) all of it.
        public var object: JSONValue?

        public init(cells: [Cell], object: JSONValue?) {
            self.cells = cells
            self.object = object
        }
    }

    public var kind = "Table"
    public var apiVersion = "meta.k8s.io/v1"
    public var metadata: ListMeta
    public var columnDefinitions: [Column]
    public var rows: [Row]

    public init(metadata: ListMeta, columnDefinitions: [Column], rows: [Row]) {
        self.metadata = metadata
        self.columnDefinitions = columnDefinitions
        self.rows = rows
    }

    /// Whether an Accept header asks for a Table (kubectl lists `as=Table` first, then plain JSON).
    public static func isRequested(accept: String?) -> Bool {
        AcceptHeader.offers(accept, ["as=Table", "g=meta.k8s.io", "v=v1"])
    }
}

/// Content negotiation the way Kubernetes clients use it: a media type's parameters name the form wanted.
public enum AcceptHeader {
    /// Whether one of the header's media types carries all of `parameters` (`as=Table`, `g=meta.k8s.io`, ...).
    public static func offers(_ accept: String?, _ parameters: Set<String>) -> Bool {
        guard let accept else { return false }
        return accept.split(separator: ",").contains { type in
            Set(type.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }).isSuperset(of: parameters)
        }
    }
}

/// An object reduced to its metadata, as Table rows carry it.
public struct PartialObjectMetadata: Codable, Sendable, Equatable {
    public var kind = "PartialObjectMetadata"
    public var apiVersion = "meta.k8s.io/v1"
    public var metadata: ObjectMeta

    public init(metadata: ObjectMeta) { self.metadata = metadata }
}
