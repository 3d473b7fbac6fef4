import Foundation
@testable import KindlingAgent
import KindlingAPI
import Testing

/// The pure parts of volumes and variables from Secrets and ConfigMaps: which files a volume has, kubelet's
/// words for what is missing, and how mount points are made without touching the machine's directories.
@Suite struct PodVolumeTests {
    let references: PodReferences = {
        var found = PodReferences()
        found.secrets["nginxsecret"] = Secret(namespace: "default", name: "nginxsecret", data: ["nginx.crt": Data("C".utf8), "nginx.key": Data("K".utf8)])
        var map = ConfigMap(namespace: "default", name: "settings", data: ["mode": "test"])
        map.binaryData = ["blob": Data([0, 1]).base64EncodedString()]
        found.configMaps["settings"] = map
        return found
    }()

    @Test func volumesHoldEveryKeyOrTheirItems() throws {
        let secret = Volume(name: "secret-volume", secret: SecretVolumeSource(secretName: "nginxsecret"))
        let files = try #require(try PodVolumes.files(of: secret, references: references))
        #expect(files.mapValues(\.data) == ["nginx.crt": Data("C".utf8), "nginx.key": Data("K".utf8)] && files["nginx.crt"]?.mode == 0o644)
        var map = Volume(name: "config", configMap: ConfigMapVolumeSource(name: "settings"))
        #expect(try PodVolumes.files(of: map, references: references)?.mapValues(\.data) == ["mode": Data("test".utf8), "blob": Data([0, 1])])
        map.configMap?.items = [KeyToPath(key: "mode", path: "conf/mode", mode: 0o400)]
        let items = try #require(try PodVolumes.files(of: map, references: references))
        #expect(Array(items.keys) == ["conf/mode"] && items["conf/mode"]?.mode == 0o400)
        map.configMap?.items = [KeyToPath(key: "nope", path: "x")]
        #expect(throws: PodSetupError.self) { try PodVolumes.files(of: map, references: references) }
        #expect(try PodVolumes.files(of: Volume(name: "scratch"), references: references) == nil)
    }

    @Test func missingSourcesAreKubeletsFailedMountUnlessOptional() {
        var volume = Volume(name: "secret-volume", secret: SecretVolumeSource(secretName: "absent"))
        do {
            _ = try PodVolumes.files(of: volume, references: references)
            Issue.record("expected a failure")
        } catch {
            #expect("\(error)" == #"MountVolume.SetUp failed for volume "secret-volume" : secret "absent" not found"#)
        }
        volume.secret?.optional = true
        #expect((try? PodVolumes.files(of: volume, references: references))??.isEmpty == true)
    }

    @Test func variablesComeFromKeysWithKubeletsErrors() throws {
        let selector = KeySelector(name: "nginxsecret", key: "nginx.key", optional: nil)
        #expect(try ContainerEnvironment.value(of: selector, secret: true, references, namespace: "default") == "K")
        let missingKey = KeySelector(name: "settings", key: "color", optional: nil)
        do {
            _ = try ContainerEnvironment.value(of: missingKey, secret: false, references, namespace: "default")
            Issue.record("expected a failure")
        } catch {
            #expect("\(error)" == "couldn't find key color in ConfigMap default/settings")
        }
        #expect(try ContainerEnvironment.value(of: KeySelector(name: "gone", key: "a", optional: true), secret: true, references, namespace: "default") == nil)
        let all = try ContainerEnvironment.variables(from: EnvFromSource(prefix: "CFG_", configMapRef: .init(name: "settings")), references, namespace: "default")
        #expect(all == ["CFG_mode": "test", "CFG_blob": "\u{0}\u{1}"])
    }

    @Test func mountPointsAreMadeInsideOverlaysOfTheirNearestDirectory() throws {
        let existing: Set<String> = ["/etc", "/etc/nginx", "/etc/nginx/conf.d", "/usr", "/usr/share", "/opt"]
        let plan = try PodVolumes.mountPoints(["/etc/nginx/conf.d", "/etc/nginx/ssl", "/etc/secret-volume", "/opt/app/data"], isDirectory: existing.contains)
        // /etc covers /etc/nginx; an existing directory needs nothing.
        #expect(plan.overlays == ["/etc", "/opt"])
        #expect(plan.directories == ["/etc/nginx/ssl", "/etc/secret-volume", "/opt/app/data"])
        #expect(throws: PodSetupError.self) { try PodVolumes.mountPoints(["/data"], isDirectory: existing.contains) }
    }
}
