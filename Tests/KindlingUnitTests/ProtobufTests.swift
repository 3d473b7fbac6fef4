import Foundation
import KindlingAPI
import KindlingMachinery
import Testing

/// Protobuf bodies as kubectl 1.37 sends them (captured from `kubectl create namespace|deployment|service|
/// configmap`), decoded into the JSON Kubernetes' own JSON encoding gives for the same objects.
@Suite struct ProtobufTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/protobuf")

    func decode(_ name: String) throws -> [String: Any] {
        try KubeProtobuf.decode(try Data(contentsOf: Self.golden.appendingPathComponent(name)))
    }

    func json(_ tree: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: tree, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func kubectlsCreateBodiesDecodeAsTheirJSON() throws {
        // kubectl create namespace pbtest
        #expect(try json(decode("namespace.bin")) == #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"pbtest"}}"#)
        // kubectl create configmap cfg --from-literal=a=1 -n pbtest
        #expect(try json(decode("configmap.bin")) == #"{"apiVersion":"v1","data":{"a":"1"},"kind":"ConfigMap","metadata":{"name":"cfg","namespace":"pbtest"}}"#)
        // kubectl create service nodeport web --tcp=80:8080 --node-port=30080 -n pbtest
        #expect(try json(decode("service-nodeport.bin")) == #"{"apiVersion":"v1","kind":"Service","metadata":{"labels":{"app":"web"},"name":"web","namespace":"pbtest"},"spec":{"ports":[{"name":"80-8080","nodePort":30080,"port":80,"protocol":"TCP","targetPort":8080}],"selector":{"app":"web"},"type":"NodePort"}}"#)
        // kubectl create deployment web --image=nginx:1.25 --replicas=0 --port=80 -n pbtest: replicas 0 is kept (a pointer).
        let deployment = try decode("deployment.bin")
        let decoded = try KubeJSON.value(Deployment.self, from: deployment)
        #expect(decoded.spec.replicas == 0)
        #expect(decoded.spec.selector?.matchLabels == ["app": "web"])
        #expect(decoded.spec.template?.metadata?.labels == ["app": "web"])
        let container = try #require(decoded.spec.template?.spec.containers.first)
        #expect(container.name == "nginx" && container.image == "nginx:1.25" && container.ports?.first?.containerPort == 80)
        #expect(try json(deployment).contains(#""strategy""#) == false, "an empty strategy is dropped as omitempty drops it")
    }

    @Test func badBodiesFailClearly() throws {
        let namespace = try Data(contentsOf: Self.golden.appendingPathComponent("namespace.bin"))
        #expect(throws: KubeProtobuf.Failure.self) { try KubeProtobuf.decode(Data("{\"kind\":\"Namespace\"}".utf8)) }
        #expect(throws: KubeProtobuf.Failure.self) { try KubeProtobuf.decode(namespace.prefix(namespace.count - 3)) }
        var other = namespace
        other[12] = UInt8(ascii: "X")  // the kind's first letter: "Xamespace" is no kind
        #expect(throws: KubeProtobuf.Failure.self) { try KubeProtobuf.decode(other) }
        // Every cut of a real body fails or decodes; none crashes.
        for length in 0..<namespace.count { _ = try? KubeProtobuf.decode(namespace.prefix(length)) }
    }
}
