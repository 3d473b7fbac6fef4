import Foundation
import Yams

/// `-o yaml` as kubectl prints it: keys sorted, numbers as written (JSONSerialization's NSNumbers would come
/// out as floats, `1e+0`), multi-line strings as literal blocks (a Corefile stays readable).
public enum YAMLOutput {
    public static func text(_ tree: Any) throws -> String { try Yams.serialize(node: node(tree), indent: 2) }

    static func node(_ value: Any) -> Yams.Node {
        switch value {
        case let map as [String: Any]:
            return .mapping(.init(map.keys.sorted().map { (Yams.Node($0), node(map[$0]!)) }))
        case let list as [Any]:
            return .sequence(.init(list.map(node)))
        case let string as String:
            // A string that would read back as something else (`"6"`, `"true"`, a timestamp) is quoted.
            let plain = Resolver.default.resolveTag(of: Yams.Node(string)) == .str
            return .scalar(.init(string, Tag(.str), string.contains("\n") ? .literal : plain ? .any : .doubleQuoted))
        case let number as NSNumber:
            switch JSONNumber(number) {
            case .bool(let value): return .scalar(.init(value ? "true" : "false", Tag(.bool)))
            case .double(let value): return .scalar(.init("\(value)", Tag(.float)))
            case .int(let value): return .scalar(.init(String(value), Tag(.int)))
            }
        default:
            return .scalar(.init("null", Tag(.null)))
        }
    }
}
