import Foundation
import KindlingAPI

/// `?limit=N&continue=TOKEN` on lists, as kube-apiserver pages them: items in key order (namespace/name), at
/// most `limit` per page, and a token naming the revision of the first page and the key to go on after. Each
/// page is read from the store as it is then (kube-apiserver reads later pages at the first page's revision
/// from etcd or its cache's snapshots; kindling keeps no past states), and claims the first page's revision,
/// so a watch started from it misses nothing. Pure.
public enum ListPaging {
    public struct Page<Item> {
        public var items: [Item]
        public var `continue`: String?
        /// How many items come after this page; only for unfiltered lists, as Kubernetes reports it.
        public var remainingItemCount: Int64?
        /// The revision the whole list claims: the first page's.
        public var resourceVersion: String
    }

    /// Kubernetes' continue token: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"KEY\u0000"}`.
    public struct Token: Codable, Equatable, Sendable {
        public var v: String
        public var rv: Int64
        public var start: String

        public init(revision: Int64, after key: String) {
            v = "meta.k8s.io/v1"
            rv = revision
            // The key after `key` in byte order, as Kubernetes starts the next range.
            start = key + "\u{0}"
        }

        public func encoded() -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return ((try? encoder.encode(self)) ?? Data()).base64EncodedString()
        }

        public static func decode(_ text: String) throws -> Token {
            guard let data = Data(base64Encoded: text) ?? Data(base64Encoded: text.padding(toLength: (text.count + 3) / 4 * 4, withPad: "=", startingAt: 0)),
                  let token = try? JSONDecoder().decode(Token.self, from: data) else {
                throw Status.badRequest("continue key is not valid: illegal base64 data or not a continue token")
            }
            guard token.v == "meta.k8s.io/v1" else {
                throw Status.badRequest("continue key is not valid: server does not recognize this encoded key version \"\(token.v)\"")
            }
            guard token.rv > 0, !token.start.isEmpty else { throw Status.badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)") }
            return token
        }
    }

    /// The page of `items` (sorted by `key`) that `limit` and `continueToken` ask for; everything when neither.
    public static func page<Item>(_ items: [Item], key: (Item) -> String, revision: String, limit: String?, continueToken: String?,
                                  filtered: Bool) throws -> Page<Item> {
        var listRevision = revision
        guard limit?.isEmpty == false || continueToken?.isEmpty == false else { return Page(items: items, resourceVersion: revision) }
        // etcd's order: keys as strings, `namespace/name`.
        var rest = items.sorted { key($0) < key($1) }[...]
        if let continueToken, !continueToken.isEmpty {
            let token = try Token.decode(continueToken)
            rest = rest.drop { key($0) < token.start }[...]
            listRevision = String(token.rv)
        }
        guard let text = limit, !text.isEmpty else { return Page(items: Array(rest), resourceVersion: listRevision) }
        guard let count = Int(text), count >= 0 else {
            throw Status.badRequest("invalid limit \"\(text)\": must be a non-negative integer")
        }
        // limit=0 means no limit, as in Kubernetes.
        guard count > 0, rest.count > count else { return Page(items: Array(rest), resourceVersion: listRevision) }
        let shown = Array(rest.prefix(count))
        let token = Token(revision: Int64(listRevision) ?? 0, after: key(shown[shown.count - 1]))
        return Page(items: shown, continue: token.encoded(), remainingItemCount: filtered ? nil : Int64(rest.count - count),
                    resourceVersion: listRevision)
    }
}
