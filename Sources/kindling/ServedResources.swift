import Foundation
import KindlingAPI
import KindlingClient
import KindlingPrinters

/// `kindling get` for kinds the CLI has no type for (custom resources): found through the server's discovery
/// by plural, singular, short name or kind (`crontabs`, `ct`, `crontabs.stable.example.com`), and listed as
/// the server's Table, a CRD's printer columns included, as kubectl lists them.
struct ServedResource {
    let group: String
    let version: String
    let resource: String
    let kind: String
    let namespaced: Bool

    var groupVersionPath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The served resource `name` names, nil when none does.
    static func find(_ name: String, _ client: APIClient) async throws -> ServedResource? {
        let parts = name.lowercased().split(separator: ".", maxSplits: 1).map(String.init)
        let wanted = parts[0], wantedGroup = parts.count > 1 ? parts[1] : nil
        let groups = try decoded(try await client.send(.GET, "/apis"))["groups"] as? [[String: Any]] ?? []
        for group in groups {
            guard let groupName = group["name"] as? String, wantedGroup == nil || wantedGroup == groupName,
                  let preferred = (group["preferredVersion"] as? [String: Any])?["version"] as? String else { continue }
            let listed = try decoded(try await client.send(.GET, "/apis/\(groupName)/\(preferred)"))["resources"] as? [[String: Any]] ?? []
            for resource in listed {
                guard let plural = resource["name"] as? String, !plural.contains("/") else { continue }
                let names = [plural, resource["singularName"] as? String, (resource["kind"] as? String)?.lowercased()].compactMap { $0 }
                    + (resource["shortNames"] as? [String] ?? [])
                if names.contains(wanted) {
                    return ServedResource(group: groupName, version: preferred, resource: plural, kind: resource["kind"] as? String ?? plural,
                                          namespaced: resource["namespaced"] as? Bool ?? false)
                }
            }
        }
        return nil
    }

    static func decoded(_ answer: (status: Int, body: Data)) throws -> [String: Any] {
        guard answer.status == 200 else { throw CLIError("discovery failed: \(answer.status)") }
        return try JSONSerialization.jsonObject(with: answer.body) as? [String: Any] ?? [:]
    }

    /// The objects (all, or those named) as the server's Table for them, or as JSON, YAML or names.
    func show(names: [String], namespace: String?, selector: String?, output: String?, _ client: APIClient) async throws {
        let base = groupVersionPath + (namespaced && namespace != nil ? "/namespaces/\(namespace!)" : "") + "/\(resource)"
        let query = selector.map { "?labelSelector=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" } ?? ""
        let paths = names.isEmpty ? [base + query] : names.map { "\(base)/\($0)" }
        guard output == nil || output == "wide" else {
            for path in paths {
                let answer = try await client.send(.GET, path)
                let object = try Self.objectOrFailure(answer)
                switch output {
                case "json": print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
                case "yaml": print(try YAMLOutput.text(object), terminator: "")
                default:
                    let items = names.isEmpty ? object["items"] as? [[String: Any]] ?? [] : [object]
                    for item in items { print("\(kind.lowercased()).\(group)/\((item["metadata"] as? [String: Any])?["name"] as? String ?? "")") }
                }
            }
            return
        }
        var headers: [String] = [], rows: [[String]] = []
        for path in paths {
            let table = try KubeJSON.decoder.decode(Table.self, from: JSONSerialization.data(withJSONObject: try Self.objectOrFailure(
                try await client.send(.GET, path, accept: "application/json;as=Table;v=v1;g=meta.k8s.io"))))
            let shown = table.columnDefinitions.indices.filter { output == "wide" || table.columnDefinitions[$0].priority == 0 }
            headers = (namespace == nil && namespaced ? ["NAMESPACE"] : []) + shown.map { table.columnDefinitions[$0].name.uppercased() }
            for row in table.rows {
                let cells = shown.map { index in index < row.cells.count ? Self.text(row.cells[index]) : "" }
                let objectNamespace: String? = if case .object(let members)? = row.object, case .object(let metadata)? = members["metadata"],
                                                  case .string(let value)? = metadata["namespace"] { value } else { nil }
                rows.append((namespace == nil && namespaced ? [objectNamespace ?? ""] : []) + cells)
            }
        }
        if rows.isEmpty {
            printError(namespaced && namespace != nil ? "No resources found in \(namespace!) namespace." : "No resources found")
            return
        }
        print(ObjectTable(headers: headers, rows: rows).text, terminator: "")
    }

    static func objectOrFailure(_ answer: (status: Int, body: Data)) throws -> [String: Any] {
        guard (200..<300).contains(answer.status) else {
            throw (try? KubeJSON.decoder.decode(Status.self, from: answer.body)) ?? CLIError("the server answered \(answer.status)")
        }
        return try JSONSerialization.jsonObject(with: answer.body) as? [String: Any] ?? [:]
    }

    /// A cell as kubectl prints it: strings as they are, numbers without a fraction when whole, `<none>` for nothing.
    static func text(_ cell: JSONValue) -> String {
        switch cell {
        case .string(let s): s
        case .int(let i): String(i)
        case .double(let d): d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): String(b)
        case .null: "<none>"
        case .array, .object: (try? String(decoding: KubeJSON.encoder.encode(cell), as: UTF8.self)) ?? ""
        }
    }
}
