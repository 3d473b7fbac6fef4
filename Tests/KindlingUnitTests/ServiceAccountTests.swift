import Crypto
import Foundation
@testable import KindlingAgent
import KindlingAPI
@testable import KindlingServer
import KindlingStore
import Testing

/// ServiceAccount tokens, who they authenticate as and when not; the admission that gives pods their token
/// volume; the token subresource's rules; and the projected volume's files.
@Suite struct ServiceAccountTokenTests {
    let registry: Registry
    let tokens: ServiceAccountTokens
    let account: ServiceAccount

    init() throws {
        registry = Registry(store: try Store(path: nil))
        _ = try registry.create(Namespace(name: "dev"))
        account = try registry.create(ServiceAccount(namespace: "dev", name: "robot"))
        tokens = try ServiceAccountTokens(pem: P256.Signing.PrivateKey().pemRepresentation)
    }

    var authenticator: Authenticator { Authenticator(adminToken: "admin-secret", tokens: tokens, registry: registry) }

    @Test func aTokenNamesItsAccountUntilItExpiresOrTheAccountGoes() throws {
        let issued = try tokens.issue(for: account, audiences: [], seconds: 600)
        let user = authenticator.user(authorization: "Bearer \(issued.token)")
        #expect(user?.username == "system:serviceaccount:dev:robot")
        #expect(user?.groups == ["system:serviceaccounts", "system:serviceaccounts:dev", "system:authenticated"])
        #expect(authenticator.user(authorization: "bearer \(issued.token)") == user, "the scheme is case-insensitive")
        #expect(authenticator.user(authorization: "Bearer admin-secret") == .admin)
        #expect(tokens.verify(issued.token, now: Date().addingTimeInterval(601)) == nil, "expired")
        let vault = try tokens.issue(for: account, audiences: ["vault"], seconds: 600)
        #expect(authenticator.user(authorization: "Bearer \(vault.token)") == nil, "not for the API's audience")
        #expect(authenticator.serviceAccount(token: vault.token, audiences: ["vault"]) != nil)
        var parts = issued.token.split(separator: ".").map(String.init)
        parts[1] = ServiceAccountTokens.base64URL(Data(#"{"sub":"system:serviceaccount:dev:admin"}"#.utf8))
        #expect(authenticator.user(authorization: "Bearer " + parts.joined(separator: ".")) == nil, "tampered")
        let other = try ServiceAccountTokens(pem: P256.Signing.PrivateKey().pemRepresentation).issue(for: account, audiences: [], seconds: 600)
        #expect(authenticator.user(authorization: "Bearer \(other.token)") == nil, "another key's")
        _ = try registry.remove(ServiceAccount.self, namespace: "dev", name: "robot")
        _ = try registry.create(ServiceAccount(namespace: "dev", name: "robot"))
        #expect(authenticator.user(authorization: "Bearer \(issued.token)") == nil, "the account was made again: another uid")
    }

    @Test func aBoundTokenEndsWithItsPod() throws {
        let pod = try registry.create(Pod(metadata: ObjectMeta(name: "p", namespace: "dev"),
                                          spec: PodSpec(containers: [Container(name: "c", image: "nginx")])))
        let issued = try tokens.issue(for: account, audiences: [], seconds: 3607, pod: pod)
        let claims = try #require(tokens.verify(issued.token))
        #expect(claims.kubernetes.pod?.uid == pod.metadata.uid && claims.aud == [ServiceAccountTokens.issuer])
        #expect(authenticator.user(authorization: "Bearer \(issued.token)")?.extra?["authentication.kubernetes.io/pod-name"] == ["p"])
        _ = try registry.remove(Pod.self, namespace: "dev", name: "p")
        #expect(authenticator.user(authorization: "Bearer \(issued.token)") == nil)
    }

    /// A `kubernetes.io/service-account-token` Secret is filled with a token that lives as long as the Secret.
    @Test func tokenSecretsHoldTokensAsLongAsTheyExist() throws {
        var secret = Secret(namespace: "dev", name: "robot-token", type: TokenSecretController.secretType, data: [:])
        secret.metadata.annotations = [TokenSecretController.accountName: "robot"]
        _ = try registry.create(secret)
        let controller = TokenSecretController(tokens: tokens, caPEM: "-----BEGIN CERTIFICATE-----\nca\n")
        try controller.sync(registry)
        let filled = try registry.get(Secret.self, namespace: "dev", name: "robot-token")
        let token = try #require(filled.decodedData["token"].map { String(decoding: $0, as: UTF8.self) })
        #expect(filled.decodedData["namespace"] == Data("dev".utf8) && filled.decodedData["ca.crt"] != nil)
        #expect(filled.metadata.annotations?[TokenSecretController.accountUID] == account.metadata.uid)
        #expect(authenticator.user(authorization: "Bearer \(token)")?.username == "system:serviceaccount:dev:robot")
        #expect(authenticator.serviceAccount(token: token, audiences: ["vault"]) == nil, "the API's audience only")
        try controller.sync(registry)
        #expect(try registry.get(Secret.self, namespace: "dev", name: "robot-token").data == filled.data, "filled once")
        _ = try registry.remove(Secret.self, namespace: "dev", name: "robot-token")
        #expect(authenticator.user(authorization: "Bearer \(token)") == nil, "the Secret is gone: so is its token")

        _ = try registry.create(secret)
        try controller.sync(registry)
        _ = try registry.remove(ServiceAccount.self, namespace: "dev", name: "robot")
        try controller.sync(registry)
        #expect((try? registry.get(Secret.self, namespace: "dev", name: "robot-token")) == nil, "deleted with its account")
        var waiting = Secret(namespace: "dev", name: "early", type: TokenSecretController.secretType, data: [:])
        waiting.metadata.annotations = [TokenSecretController.accountName: "later"]
        _ = try registry.create(waiting)
        try controller.sync(registry)
        #expect(try registry.get(Secret.self, namespace: "dev", name: "early").data?["token"] == nil, "waits for its account")
    }

    @Test func theTokenSubresourceKeepsKubernetesRules() async throws {
        let handler = APIHandler(registry: registry, tokens: tokens)
        func post(_ body: String) async -> (Int, [String: Any]) {
            let request = APIRequest(method: "POST", path: "/api/v1/namespaces/dev/serviceaccounts/robot/token", body: Data(body.utf8),
                                     contentType: "application/json")
            guard case .json(let status, let data, _, _) = await handler.handle(request) else { return (0, [:]) }
            return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
        }
        let (made, answer) = await post(#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest"}"#)
        #expect(made == 201 && (answer["spec"] as? [String: Any])?["expirationSeconds"] as? Int == 3600)
        let token = try #require((answer["status"] as? [String: Any])?["token"] as? String)
        #expect(tokens.verify(token)?.sub == "system:serviceaccount:dev:robot")
        let (short, refusal) = await post(#"{"spec":{"expirationSeconds":60}}"#)
        #expect(short == 422 && refusal["message"] as? String
                == #"TokenRequest.authentication.k8s.io "robot" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"#)
        let (unbound, _) = await post(#"{"spec":{"boundObjectRef":{"kind":"Pod","name":"nope"}}}"#)
        #expect(unbound == 404)
    }

    @Test func admissionMountsTheTokenUnlessTurnedOff() {
        let pod = Pod(metadata: ObjectMeta(name: "p", namespace: "dev"), spec: PodSpec(containers: [Container(name: "c", image: "nginx")]))
        let mounted = ServiceAccountAdmission.mounted(pod, account: account, suffix: "abcde")
        #expect(mounted.spec.serviceAccountName == "robot" && mounted.spec.serviceAccount == "robot")
        #expect(mounted.spec.volumes?.map(\.name) == ["kube-api-access-abcde"])
        #expect(mounted.spec.containers[0].volumeMounts == [VolumeMount(name: "kube-api-access-abcde", mountPath: ServiceAccountAdmission.mountPath, readOnly: true)])
        let sources = mounted.spec.volumes?.first?.projected?.sources ?? []
        #expect(sources.compactMap(\.serviceAccountToken?.expirationSeconds) == [3607] && sources.compactMap(\.configMap?.name) == ["kube-root-ca.crt"])
        var quiet = account
        quiet.automountServiceAccountToken = false
        #expect(ServiceAccountAdmission.mounted(pod, account: quiet, suffix: "x").spec.volumes == nil)
        var insists = pod
        insists.spec.automountServiceAccountToken = true
        #expect(ServiceAccountAdmission.mounted(insists, account: quiet, suffix: "x").spec.volumes?.count == 1, "the pod's setting wins")
    }

    @Test func projectedFilesComeFromEachSource() throws {
        var pod = ServiceAccountAdmission.mounted(Pod(metadata: ObjectMeta(name: "p", namespace: "dev"),
                                                      spec: PodSpec(containers: [Container(name: "c", image: "nginx")])), account: account, suffix: "abcde")
        pod.metadata.labels = ["b": "2", "a": "1"]
        let volume = try #require(pod.spec.volumes?.first)
        var references = PodReferences(configMaps: ["kube-root-ca.crt": ConfigMap(namespace: "dev", name: "kube-root-ca.crt", data: ["ca.crt": "CA"])])
        #expect(throws: PodSetupError.self) { try PodVolumes.files(of: volume, references: references, pod: pod) }
        references.tokens[PodReferences.tokenKey(.init(expirationSeconds: 3607, path: "token"))] = .init(token: "jwt", refreshAfter: .distantFuture)
        let files = try #require(try PodVolumes.files(of: volume, references: references, pod: pod))
        #expect(files.mapValues { String(decoding: $0.data, as: UTF8.self) } == ["token": "jwt", "ca.crt": "CA", "namespace": "dev"])
        #expect(files.values.allSatisfy { $0.mode == 0o644 })
        #expect(PodVolumes.downwardValue("metadata.labels", of: pod) == "a=\"1\"\nb=\"2\"")
    }
}
