import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingServer
import KindlingStore
import Testing

/// Hostile and malformed requests against the API handler, generated from valid manifests by random mutations
/// (a property-based fuzzer, bounded so it runs in every test run): every answer is a success or a 4xx
/// `Status`, never a crash, a hang or a 5xx, and a refused write leaves the store as it was.
@Suite struct APIFuzzTests {
    static let seeds: [(path: String, body: String)] = [
        ("/api/v1/namespaces/dev/pods", #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80,"name":"http"}]}]}}"#),
        ("/api/v1/namespaces/dev/services", #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"type":"NodePort","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"http","protocol":"TCP"}]}}"#),
        ("/apis/apps/v1/namespaces/dev/deployments", #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}"#),
        ("/api/v1/namespaces/dev/configmaps", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m"},"data":{"k":"v"}}"#),
    ]

    /// A seeded generator, so a failure names the case that reproduces it.
    struct Random {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(max(n, 1)))
        }
    }

    /// One mutation of a JSON tree: a value replaced by one of another type, removed, or nested deep.
    static func mutate(_ value: Any, _ random: inout Random) -> Any {
        let replacements: [Any] = [NSNull(), -1, 0, 99_999_999_999, 1.5, true, "", String(repeating: "x", count: 300),
                                   "bad name!", "\u{0}", [] as [Any], [:] as [String: Any], ["a": ["b": ["c": 1]]]]
        if var map = value as? [String: Any], !map.isEmpty, random.next(4) != 0 {
            let key = map.keys.sorted()[random.next(map.count)]
            switch random.next(5) {
            case 0: map[key] = nil
            case 1: map[key] = replacements[random.next(replacements.count)]
            default: map[key] = mutate(map[key]!, &random)
            }
            return map
        }
        if var list = value as? [Any], !list.isEmpty, random.next(4) != 0 {
            let index = random.next(list.count)
            list[index] = mutate(list[index], &random)
            return list
        }
        return replacements[random.next(replacements.count)]
    }

    /// A body: the mutated seed as JSON, or bytes broken after encoding (cut, invalid UTF-8, deep nesting).
    static func body(_ seed: String, _ random: inout Random) -> Data {
        var tree: Any = try! JSONSerialization.jsonObject(with: Data(seed.utf8))
        for _ in 0..<(1 + random.next(3)) { tree = mutate(tree, &random) }
        // (A scalar at the top, which JSONSerialization cannot write, goes as its description.)
        var bytes = [UInt8](JSONSerialization.isValidJSONObject(tree)
            ? (try? JSONSerialization.data(withJSONObject: tree)) ?? Data(seed.utf8) : Data("\(tree)".utf8))
        switch random.next(8) {
        case 0: bytes = Array(bytes.prefix(random.next(bytes.count)))
        case 1: bytes.insert(contentsOf: [0xC3, 0x28, 0xFF], at: random.next(bytes.count))
        case 2: bytes = Array((String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8)
        case 3: bytes = Array((String(repeating: #"{"a":"#, count: 2000) + "1" + String(repeating: "}", count: 2000)).utf8)
        default: break
        }
        return Data(bytes)
    }

    @Test func mutatedRequestsAreAnsweredWithSuccessOrAClientError() async throws {
        let registry = Registry(store: try Store(path: nil), admission: ServiceAdmission(serviceSubnet: IPv4CIDR("10.96.0.0/16")!))
        for name in ["default", "dev"] { _ = try registry.create(Namespace(name: name)) }
        let handler = APIHandler(registry: registry)
        var random = Random(state: 0xf022)
        var refused = 0
        for run in 0..<4000 {
            let (path, seed) = Self.seeds[random.next(Self.seeds.count)]
            let method = ["POST", "POST", "POST", "PUT", "PATCH"][random.next(5)]
            let target = method == "POST" ? path : path + "/" + ["p", "s", "d", "m", "no-such"][random.next(5)]
            let query = random.next(4) == 0 ? ["fieldValidation": "Strict", "labelSelector": "a in (b"] : [:]
            let contentType = method == "PATCH" ? ["application/merge-patch+json", "application/json-patch+json", "text/plain"][random.next(3)]
                : "application/json"
            let before = try registry.list(ConfigMap.self).items.count + registry.list(Pod.self).items.count
                + registry.list(Service.self).items.count + registry.list(Deployment.self).items.count
            let response = await handler.handle(APIRequest(method: method, path: target, query: query,
                                                           body: Self.body(seed, &random), contentType: contentType))
            guard case .json(let status, let data, _, _) = response else { Issue.record("run \(run): not a JSON answer"); continue }
            #expect((200..<500).contains(status), "run \(run): \(method) \(target) got \(status): \(String(decoding: data.prefix(300), as: UTF8.self))")
            if status >= 400 {
                refused += 1
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                #expect(object?["kind"] as? String == "Status", "run \(run): a \(status) without a Status")
                let after = try registry.list(ConfigMap.self).items.count + registry.list(Pod.self).items.count
                    + registry.list(Service.self).items.count + registry.list(Deployment.self).items.count
                #expect(after == before, "run \(run): a refused \(method) changed the store")
            }
        }
        // The generator does make bad input: most of it is refused.
        #expect(refused > 2000, "\(refused) refused")
    }
}
