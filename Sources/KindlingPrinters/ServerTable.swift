import Foundation
import KindlingAPI

extension Printing {
    /// What each row carries of its object (the `includeObject` parameter).
    public enum IncludeObject: String, Sendable { case none = "None", metadata = "Metadata", object = "Object" }

    /// The server's Table for `objects`: kubectl's columns (the `-o wide` ones at priority 1) under the names
    /// kube-apiserver gives them, integer columns as numbers.
    public static func serverTable<T: APIObject>(_ objects: [T], resourceVersion: String?, includeObject: IncludeObject = .metadata,
                                                  now: Double, parseTime: @escaping (String) -> Double?) -> Table {
        let printer = Printers.printer(for: T.self), context = PrintContext(now: now, parseTime: parseTime)
        let printed = printer.columns
        let columns = printed.map { column in
            Table.Column(name: columnName(column.name), type: column.integer ? "integer" : "string", format: column.name == "NAME" ? "name" : "",
                         description: columnName(column.name), priority: column.wide ? 1 : 0)
        }
        let rows = objects.map { object in
            let carried: JSONValue? = switch includeObject {
            case .none: nil
            case .metadata: try? JSONValue(encoding: PartialObjectMetadata(metadata: object.metadata))
            case .object: try? JSONValue(encoding: object)
            }
            return Table.Row(cells: zip(printed, printer.cells(object, context)).map { column, cell in
                column.integer ? Int(cell).map(Table.Cell.int) ?? .string(cell) : .string(cell)
            }, object: carried)
        }
        return Table(metadata: ListMeta(resourceVersion: resourceVersion), columnDefinitions: columns, rows: rows)
    }

    /// kube-apiserver's spelling of a column kubectl prints upper-cased: `Cluster-IP`, `Port(s)`, `Nominated Node`.
    static func columnName(_ header: String) -> String {
        let exceptions = ["IP": "IP", "CLUSTER-IP": "Cluster-IP", "EXTERNAL-IP": "External-IP", "INTERNAL-IP": "Internal-IP",
                          "PORT(S)": "Port(s)", "UP-TO-DATE": "Up-to-date", "OS-IMAGE": "OS-Image", "KERNEL-VERSION": "Kernel-Version",
                          "CONTAINER-RUNTIME": "Container-Runtime", "ADDRESSTYPE": "AddressType"]
        if let name = exceptions[header] { return name }
        return header.split(separator: " ").map { $0.prefix(1) + $0.dropFirst().lowercased() }.joined(separator: " ")
    }
}
