import Foundation
import KindlingAPI
import KindlingMachinery
import KindlingServer
import Testing

/// Hostile and bad input, one case each, with kube-apiserver's wording: unknown fields under each
/// `fieldValidation`, names beyond their length, oversized, deeply nested and non-UTF-8 bodies, bad selectors.
/// Every refusal leaves the store as it was.
@Suite struct BadInputTests {
    let api = try! APITests()

    static let service = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}"#

    @Test func unknownFieldsArePathsOfWhatDecodingDropped() {
        let body: [String: Any] = ["spec": ["ports": [["port": 80, "portt": 1]], "selector": ["a": "b"], "typo": true, "gone": NSNull()],
                                   "metadata": ["name": "x"]]
        let decoded: [String: Any] = ["spec": ["ports": [["port": 80]], "selector": ["a": "b"]], "metadata": ["name": "x"]]
        #expect(FieldValidation.unknownFields(body: body, decoded: decoded) == ["spec.ports[0].portt", "spec.typo"])
        #expect(FieldValidation.unknownFields(body: decoded, decoded: decoded).isEmpty)
    }

    @Test func kubernetesOwnFieldsAreToldApartFromTypos() {
        #expect(KubernetesFields.has(kind: "Deployment", path: "spec.template.spec.containers[0].resources"))
        #expect(KubernetesFields.has(kind: "Deployment", path: "spec.strategy"))
        #expect(KubernetesFields.has(kind: "Pod", path: "spec.volumes"))
        #expect(KubernetesFields.has(kind: "Pod", path: "spec.containers[1].readinessProbe.grpc"))
        #expect(KubernetesFields.has(kind: "Service", path: "spec.ipFamilyPolicy"))
        #expect(!KubernetesFields.has(kind: "Deployment", path: "spec.replicaz"))
        #expect(!KubernetesFields.has(kind: "ReplicaSet", path: "spec.strategy"))
        #expect(!KubernetesFields.has(kind: "Pod", path: "spec.containers[0].imagee"))
        #expect(!KubernetesFields.has(kind: "Service", path: "spec.ports[0].portt"))
        // Levels kindling keeps no table for: every field there is taken for Kubernetes' own.
        #expect(KubernetesFields.has(kind: "Pod", path: "spec.containers[0].env[0].valueFrom.secretKeyRef"))
        #expect(KubernetesFields.has(kind: "Pod", path: "status.podIP"))
        #expect(!KubernetesFields.has(kind: "ConfigMap", path: "dta"))
    }

    @Test func fieldValidationStrictRefusesWarnWarnsIgnoreDrops() async throws {
        let typo = Self.service.replacingOccurrences(of: #""ports":[{"port":80}]"#, with: #""ports":[{"port":80,"portt":1}],"trafficDistribution":"PreferClose""#)
        let (strict, refused, _) = await api.callWithWarnings("POST", "/api/v1/namespaces/dev/services", typo, query: ["fieldValidation": "Strict"])
        #expect(strict == 400)
        #expect(refused["message"] as? String == #"Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.ports[0].portt""#)
        #expect(await api.call("GET", "/api/v1/namespaces/dev/services/web").0 == 404)

        let (warn, _, warnings) = await api.callWithWarnings("POST", "/api/v1/namespaces/dev/services", typo)
        #expect(warn == 201)
        #expect(warnings == [#"unknown field "spec.ports[0].portt""#, "spec.trafficDistribution: kindling does not implement this field; it was dropped"])

        let (ignored, _, none) = await api.callWithWarnings("PUT", "/api/v1/namespaces/dev/services/web",
                                                            typo.replacingOccurrences(of: #""name":"web""#, with: #""name":"web","namespace":"dev""#),
                                                            query: ["fieldValidation": "Ignore"])
        #expect(ignored == 200 && none.isEmpty)

        let (patchStrict, patchRefused, _) = await api.callWithWarnings(
            "PATCH", "/api/v1/namespaces/dev/services/web", #"{"spec":{"selectr":{"app":"x"}}}"#,
            query: ["fieldValidation": "Strict"], contentType: "application/merge-patch+json")
        #expect(patchStrict == 400)
        #expect((patchRefused["message"] as? String)?.hasSuffix(#"strict decoding error: unknown field "spec.selectr""#) == true)

        let (badValue, badStatus, _) = await api.callWithWarnings("POST", "/api/v1/namespaces/dev/services", Self.service,
                                                                  query: ["fieldValidation": "Loose"])
        #expect(badValue == 400)
        #expect(badStatus["message"] as? String == #"fieldValidation: Unsupported value: "Loose": supported values: "Ignore", "Strict", "Warn""#)
    }

    @Test func namesBeyondTheirLengthAreInvalid() async {
        let long64 = String(repeating: "a", count: 64), long254 = String(repeating: "b", count: 254)
        let service = Self.service.replacingOccurrences(of: #""name":"web""#, with: #""name":"\#(long64)""#)
        let (code, status) = await api.call("POST", "/api/v1/namespaces/dev/services", service)
        #expect(code == 422)
        #expect((status["message"] as? String)?.contains(#"metadata.name: Invalid value: "\#(long64)": must be no more than 63 characters"#) == true)

        let map = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\#(long254)"}}"#
        let (mapCode, mapStatus) = await api.call("POST", "/api/v1/namespaces/dev/configmaps", map)
        #expect(mapCode == 422)
        #expect((mapStatus["message"] as? String)?.contains("must be no more than 253 characters") == true)

        let namespace = #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"\#(long64)"}}"#
        #expect(await api.call("POST", "/api/v1/namespaces", namespace).0 == 422)
        #expect(await api.call("GET", "/api/v1/namespaces/dev/configmaps").1["items"] as? [Any] != nil)
        #expect((await api.call("GET", "/api/v1/namespaces/dev/configmaps").1["items"] as? [Any])?.isEmpty == true)
    }

    @Test func oversizedNestedAndNonUTF8BodiesAndBadSelectorsAreClientErrors() async {
        let huge = Self.service.replacingOccurrences(of: #""name":"web""#,
                                                     with: #""name":"web","annotations":{"a":"\#(String(repeating: "x", count: 3 * 1024 * 1024))"}"#)
        let (tooLarge, large) = await api.call("POST", "/api/v1/namespaces/dev/services", huge)
        #expect(tooLarge == 413)
        #expect(large["reason"] as? String == "RequestEntityTooLarge")
        #expect(large["message"] as? String == "Request entity too large: limit is 3145728")

        let deep = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        #expect(await api.call("POST", "/api/v1/namespaces/dev/services", deep).0 == 400)

        var invalid = Data(Self.service.utf8)
        invalid[invalid.count / 2] = 0xFF
        let response = await api.handler.handle(APIRequest(method: "POST", path: "/api/v1/namespaces/dev/services", body: invalid,
                                                           contentType: "application/json"))
        guard case .json(let code, _, _, _) = response else { Issue.record("not JSON"); return }
        #expect(code == 400)

        let (selector, parse) = await api.call("GET", "/api/v1/namespaces/dev/pods", query: ["labelSelector": "app in (a"])
        #expect(selector == 400)
        #expect((parse["message"] as? String)?.hasPrefix("unable to parse requirement") == true)
        #expect((await api.call("GET", "/api/v1/namespaces/dev/services").1["items"] as? [Any])?.isEmpty == true)
    }
}
