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
                         description: column.name == "NAME" ? ObjectMeta.nameDescription : columnName(column.name), priority: column.wide ? 1 : 0)
        }
        let rows = objects.map { object in
            Table.Row(cells: zip(printed, printer.cells(object, context)).map { column, cell in
                column.integer ? Int64(cell).map(Table.Cell.int) ?? .string(cell) : .string(cell)
            }, object: carried(object, includeObject))
        }
        return Table(metadata: ListMeta(resourceVersion: resourceVersion), columnDefinitions: columns, rows: rows)
    }

    /// The server's Table for a kind whose definition declares its columns (a CRD's printer columns): Name, then
    /// each column's value at its JSONPath, typed as declared (apiextensions' table convertor). A path that
    /// finds nothing, or a value not of the column's type, leaves the cell null; a `date` is printed as an age.
    public static func declaredTable<T: APIObject>(_ objects: [T], columns declared: [CustomResourceDefinition.PrinterColumn], resourceVersion: String?,
                                                    includeObject: IncludeObject = .metadata, now: Double,
                                                    parseTime: @escaping (String) -> Double?) -> Table {
        let context = PrintContext(now: now, parseTime: parseTime)
        let paths = declared.map { try? JSONPath($0.jsonPath) }
        let columns = [Table.Column(name: "Name", type: "string", format: "name", description: ObjectMeta.nameDescription, priority: 0)]
            + declared.map { column in
                Table.Column(name: column.name, type: column.type, format: column.format ?? "",
                             description: column.description ?? "Custom resource definition column (in JSONPath format): \(column.jsonPath)",
                             priority: column.priority ?? 0)
            }
        let rows = objects.map { object in
            let tree = (try? JSONValue(encoding: object)) ?? .null
            let cells = zip(declared, paths).map { column, path in
                path?.results(in: tree).first.map { declaredCell($0, type: column.type, context) } ?? .null
            }
            return Table.Row(cells: [.string(object.name)] + cells, object: carried(object, includeObject))
        }
        return Table(metadata: ListMeta(resourceVersion: resourceVersion), columnDefinitions: columns, rows: rows)
    }

    /// One value as a column of `type` carries it.
    static func declaredCell(_ value: JSONValue, type: String, _ context: PrintContext) -> Table.Cell {
        switch (type, value) {
        case ("string", _): return JSONPath.text(value).map(Table.Cell.string) ?? .null
        case ("integer", .int), ("boolean", .bool): return value
        case ("integer", .double(let number)): return .int(Int64(number))
        case ("number", .int(let number)): return .double(Double(number))
        case ("number", .double): return value
        case ("date", .string(let text)): return .string(context.parseTime(text) == nil ? "<invalid>" : context.since(text))
        default: return .null
        }
    }

    /// What a row carries of its object.
    static func carried<T: APIObject>(_ object: T, _ include: IncludeObject) -> JSONValue? {
        switch include {
        case .none: nil
        case .metadata: try? JSONValue(encoding: PartialObjectMetadata(metadata: object.metadata))
        case .object: try? JSONValue(encoding: object)
        }
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
