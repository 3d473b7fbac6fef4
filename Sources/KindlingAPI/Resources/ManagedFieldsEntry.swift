/// One entry of `metadata.managedFields`.
public struct ManagedFieldsEntry: Codable, Hashable, Sendable {
    public var manager: String
    public var operation: String
    public var apiVersion: String?
    public var time: String?
    public var fieldsType: String?
    public var fieldsV1: JSONValue?
    public var subresource: String?

    enum CodingKeys: String, CodingKey { case manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource }

    /// An empty entry (`managedFields: [{}]`, how a client asks for them to be cleared) decodes too.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        manager = try container.decodeIfPresent(String.self, forKey: .manager) ?? ""
        operation = try container.decodeIfPresent(String.self, forKey: .operation) ?? ""
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        time = try container.decodeIfPresent(String.self, forKey: .time)
        fieldsType = try container.decodeIfPresent(String.self, forKey: .fieldsType)
        fieldsV1 = try container.decodeIfPresent(JSONValue.self, forKey: .fieldsV1)
        subresource = try container.decodeIfPresent(String.self, forKey: .subresource)
    }

    public init(manager: String, operation: String, apiVersion: String?, time: String?, fieldsV1: JSONValue, subresource: String?) {
        self.manager = manager
        self.operation = operation
        self.apiVersion = apiVersion
        self.time = time
        self.fieldsType = "FieldsV1"
        self.fieldsV1 = fieldsV1
        self.subresource = subresource
    }
}
