import Foundation
import KindlingAPI
import KindlingPrinters
import KindlingServer
import Testing

/// Secrets as kube-apiserver keeps them: stringData folded into data and never stored, each built-in type's
/// required keys, the type fixed once written, and bodies Go's decoder refuses refused in its words.
@Suite struct SecretTests {
    let api = try! APITests()

    @Test func stringDataIsFoldedIntoDataAndNeverStored() async throws {
        let body = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"login"},"data":{"user":"b2xk"},"stringData":{"user":"admin","pass":"s3cret"}}"#
        let (created, object) = await api.call("POST", "/api/v1/namespaces/dev/secrets", body)
        #expect(created == 201)
        #expect(object["data"] as? [String: String] == ["user": "YWRtaW4=", "pass": "czNjcmV0"])
        #expect(object["type"] as? String == "Opaque" && object["stringData"] == nil)
        let (_, stored) = await api.call("GET", "/api/v1/namespaces/dev/secrets/login")
        #expect(stored["stringData"] == nil && (stored["data"] as? [String: String])?["user"] == "YWRtaW4=")
    }

    @Test func typesRequireTheirKeysAndKeepTheirType() async throws {
        let tls = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"cert"},"type":"kubernetes.io/tls","data":{"tls.crt":"YQ=="}}"#
        let (refused, status) = await api.call("POST", "/api/v1/namespaces/dev/secrets", tls)
        #expect(refused == 422)
        #expect(status["message"] as? String == #"Secret "cert" is invalid: data[tls.key]: Required value"#)
        let cause = ((status["details"] as? [String: Any])?["causes"] as? [[String: Any]])?.first
        // kubectl prints `field: message`: the message must not carry the field again.
        #expect(cause?["field"] as? String == "data[tls.key]" && cause?["message"] as? String == "Required value")
        #expect(await api.call("GET", "/api/v1/namespaces/dev/secrets/cert").0 == 404)

        let opaque = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"plain"},"data":{"a":"YQ=="}}"#
        #expect(await api.call("POST", "/api/v1/namespaces/dev/secrets", opaque).0 == 201)
        let retyped = opaque.replacingOccurrences(of: #""data""#, with: #""type":"kubernetes.io/basic-auth","data""#)
        let (changed, why) = await api.call("PUT", "/api/v1/namespaces/dev/secrets/plain", retyped)
        #expect(changed == 422 && (why["message"] as? String)?.contains(#"type: Invalid value: "kubernetes.io/basic-auth": field is immutable"#) == true, "\(why)")
    }

    @Test func badKeysAndBadBase64AreRefused() async throws {
        let badKey = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"k"},"data":{"a b":"YQ=="}}"#
        let (invalid, status) = await api.call("POST", "/api/v1/namespaces/dev/secrets", badKey)
        #expect(invalid == 422 && (status["message"] as? String)?.hasPrefix(#"Secret "k" is invalid: data[a b]: Invalid value: "a b": a valid config key"#) == true)
        let badValue = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"v"},"data":{"user":"ab!c"}}"#
        let (refused, decoded) = await api.call("POST", "/api/v1/namespaces/dev/secrets", badValue)
        #expect(refused == 400)
        #expect(decoded["message"] as? String == #"Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 2"#)
    }

    @Test func tablesShowTypeAndDataCount() {
        var secret = Secret(namespace: "dev", name: "nginxsecret", type: "kubernetes.io/tls", data: ["tls.crt": Data("c".utf8), "tls.key": Data("k".utf8)])
        secret.applyDefaults()
        let table = Printing.table([secret], wide: false, withNamespace: false, now: 0, parseTime: { _ in 0 })
        #expect(table.headers == ["NAME", "TYPE", "DATA", "AGE"])
        #expect(Array(table.rows[0].prefix(3)) == ["nginxsecret", "kubernetes.io/tls", "2"])
    }
}
