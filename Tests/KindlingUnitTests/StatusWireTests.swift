import Foundation
import KindlingAPI
import Testing

/// `Status` bodies byte for byte as kube-apiserver writes them (Go's field order, omitted empties, HTML
/// escapes, a final newline), for clients that compare them.
@Suite struct StatusWireTests {
    @Test func statusBodiesAreKubeAPIServersBytes() {
        let notFound = Status.notFound(GroupResource(group: "", resource: "pods"), "x")
        #expect(String(decoding: notFound.wireJSON, as: UTF8.self) == #"""
            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}

            """#)
        let invalid = Status.invalid(kind: "Pod", group: "", name: "p", errors: [.required("spec.containers")])
        #expect(String(decoding: invalid.wireJSON, as: UTF8.self).contains(
            #""details":{"name":"p","kind":"Pod","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers"}]},"code":422}"#))
        let escaped = Status.badRequest("a <b> & c")
        #expect(String(decoding: escaped.wireJSON, as: UTF8.self).contains(#""message":"a \u003cb\u003e \u0026 c""#))
        let decoded = try? KubeJSON.decoder.decode(Status.self, from: notFound.wireJSON)
        #expect(decoded == notFound)
    }
}
