import Foundation
import KindlingAPI
import KindlingAgent
import KindlingMachinery
import KindlingPrinters
import KindlingServer
import Testing

/// What real kubectl needs of kindling that is pure: kubeconfig entries, server-side Tables, discovery.
@Suite struct KubectlSupportTests {
    static let entry = Kubeconfig.Entry(name: "kindling-dev", server: "https://127.0.0.1:6443", certificateAuthority: "PEM", token: "t0k")

    @Test func kubeconfigEntriesMergeBesideOthersAndGoAway() throws {
        let other: [String: Any] = ["apiVersion": "v1", "kind": "Config", "current-context": "prod",
                                    "clusters": [["name": "prod", "cluster": ["server": "https://prod"]]],
                                    "users": [["name": "prod", "user": ["token": "p"]]],
                                    "contexts": [["name": "prod", "context": ["cluster": "prod", "user": "prod"]]]]
        let merged = Kubeconfig.merging(Self.entry, into: other)
        #expect(merged["current-context"] as? String == "kindling-dev")
        for key in ["clusters", "users", "contexts"] {
            #expect((merged[key] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["prod", "kindling-dev"], "\(key)")
        }
        let cluster = (merged["clusters"] as? [[String: Any]])?.last?["cluster"] as? [String: Any]
        #expect(cluster?["server"] as? String == "https://127.0.0.1:6443")
        #expect(cluster?["certificate-authority-data"] as? String == Data("PEM".utf8).base64EncodedString())
        // Again (export after a re-create): replaced, not doubled.
        let twice = Kubeconfig.merging(Self.entry, into: merged)
        #expect((twice["users"] as? [Any])?.count == 2)

        let removed = Kubeconfig.removing("kindling-dev", from: twice)
        #expect(removed["current-context"] as? String == "")
        for key in ["clusters", "users", "contexts"] {
            #expect((removed[key] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["prod"], "\(key)")
        }
        #expect(Kubeconfig.removing("kindling-x", from: other)["current-context"] as? String == "prod")
    }

    @Test func kubeconfigFileKeepsOtherEntriesValuesAsTheyWere() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/config"
        try """
            apiVersion: v1
            kind: Config
            clusters:
            - name: prod
              cluster: {server: "https://prod:6443", insecure-skip-tls-verify: true}
            preferences: {colors: false}
            users:
            - name: prod
              user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: aws, args: [eks, get-token], provideClusterInfo: false, interactiveMode: Never}}
            current-context: prod
            extensions: [{name: when, extension: {since: 2026-01-01, ratio: 1.5, port: 8080}}]

            """.write(toFile: path, atomically: true, encoding: .utf8)
        try KubeconfigFile(path: path).update { Kubeconfig.merging(Self.entry, into: $0) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for kept in ["insecure-skip-tls-verify: true", "colors: false", "provideClusterInfo: false", "port: 8080", "ratio: 1.5",
                     "2026-01-01", "interactiveMode: Never"] {
            #expect(text.contains(kept), "\(kept) in \(text)")
        }
        #expect(!text.contains("null"), "\(text)")
    }

    @Test func kubeconfigPathIsKUBECONFIGsFirstElseHome() {
        #expect(Kubeconfig.path(environment: [:], home: "/root") == "/root/.kube/config")
        #expect(Kubeconfig.path(environment: ["KUBECONFIG": "/a/one:/b/two"], home: "/root") == "/a/one")
        #expect(Kubeconfig.path(environment: ["KUBECONFIG": ":/b/two"], home: "/root") == "/b/two")
    }

    @Test func theCurrentContextNamesTheClusterAsKubectlFindsIt() {
        let files = ["/a": "current-context: kindling-dev\n", "/b": "current-context: kind-kind\n", "/c": "current-context: \"\"\n",
                     "/d": "apiVersion: v1\n", "/e": "current-context: kindling-\n", "/f": "{{ not yaml"]
        func current(_ paths: [String]) -> String? { Kubeconfig.currentCluster(files: paths) { files[$0] } }
        #expect(current(["/a"]) == "dev")
        #expect(current(["/b", "/a"]) == nil, "the first file that sets one wins, and kind's are not kindling's")
        #expect(current(["/missing", "/c", "/d", "/f", "/a"]) == "dev", "files that set none are passed over")
        #expect(current(["/e"]) == nil)
        #expect(current([]) == nil)
        #expect(Kubeconfig.readPaths(environment: ["KUBECONFIG": "/x::/y"], home: "/root") == ["/x", "/y"])
        #expect(Kubeconfig.readPaths(environment: [:], home: "/root") == ["/root/.kube/config"])
        #expect(KindlingVersion.platform(machine: "x86_64") == "linux/amd64")
        #expect(KindlingVersion.platform(machine: "aarch64") == "linux/arm64")
    }

    @Test func kubeconfigFileKeepsOtherEntriesUnderConcurrentWriters() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = KubeconfigFile(path: directory + "/config")
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let entry = Kubeconfig.Entry(name: "kindling-c\(index)", server: "https://127.0.0.1:\(7000 + index)", certificateAuthority: "PEM", token: "t")
            try? file.update { Kubeconfig.merging(entry, into: $0) }
        }
        var names: [String] = []
        try file.update { tree in
            names = (tree["contexts"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            return tree
        }
        #expect(Set(names) == Set((0..<8).map { "kindling-c\($0)" }))
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/config")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func serverTablesCarryKubectlsColumnsAndMetadata() throws {
        var service = Service(metadata: ObjectMeta(name: "web", namespace: "dev"),
                              spec: .init(selector: ["app": "web"], ports: [.init(port: 80)]))
        service.spec.clusterIP = "10.96.0.20"
        service.metadata.creationTimestamp = "2026-11-24T00:00:00Z"
        service.metadata.labels = ["tier": "front"]
        service.applyDefaults()
        let now = Timestamp.date("2026-11-24T00:05:00Z")!.timeIntervalSince1970
        let table = Printing.serverTable([service], resourceVersion: "42", now: now, parseTime: { Timestamp.date($0)?.timeIntervalSince1970 })
        #expect(table.columnDefinitions.map(\.name) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"])
        #expect(table.columnDefinitions.map(\.priority) == [0, 0, 0, 0, 0, 0, 1])
        #expect(table.columnDefinitions.first?.format == "name")
        #expect(table.rows.first?.cells == [.string("web"), .string("ClusterIP"), .string("10.96.0.20"), .string("<none>"),
                                            .string("80/TCP"), .string("5m"), .string("app=web")])
        #expect(try table.rows.first?.object?.decode(PartialObjectMetadata.self).metadata.labels == ["tier": "front"])
        let whole = Printing.serverTable([service], resourceVersion: nil, includeObject: .object, now: now, parseTime: { Timestamp.date($0)?.timeIntervalSince1970 })
        #expect(try whole.rows.first?.object?.decode(Service.self).spec.clusterIP == "10.96.0.20")
        #expect(Printing.serverTable([service], resourceVersion: nil, includeObject: .none, now: now, parseTime: { _ in nil }).rows.first?.object == nil)
        #expect(table.metadata.resourceVersion == "42")
        let json = try JSONSerialization.jsonObject(with: KubeJSON.encoder.encode(table)) as? [String: Any]
        #expect(json?["kind"] as? String == "Table" && json?["apiVersion"] as? String == "meta.k8s.io/v1")
        #expect(((json?["rows"] as? [[String: Any]])?.first?["object"] as? [String: Any])?["kind"] as? String == "PartialObjectMetadata")

        var replicaSet = try KubeJSON.decoder.decode(ReplicaSet.self, from: Data(APITests.replicaSet.utf8))
        replicaSet.metadata.creationTimestamp = "2026-11-24T00:00:00Z"
        let counts = Printing.serverTable([replicaSet], resourceVersion: nil, now: now, parseTime: { Timestamp.date($0)?.timeIntervalSince1970 })
        #expect(counts.columnDefinitions.prefix(4).map(\.type) == ["string", "integer", "integer", "integer"])
        #expect(counts.rows.first?.cells.prefix(4) == [.string("web"), .int(2), .int(0), .int(0)])
    }

    @Test func tablesAndAggregatedDiscoveryAreNegotiatedByAccept() async throws {
        let api = try APITests()
        let kubectlAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        #expect(Table.isRequested(accept: kubectlAccept))
        #expect(!Table.isRequested(accept: "application/json"))
        #expect(!Table.isRequested(accept: nil))

        let response = await api.handler.handle(APIRequest(method: "GET", path: "/api/v1/namespaces", accept: kubectlAccept))
        guard case .json(200, let body, _, _) = response else { Issue.record("\(response)"); return }
        let table = try KubeJSON.decoder.decode(Table.self, from: body)
        #expect(table.columnDefinitions.map(\.name) == ["Name", "Status", "Age"])
        #expect(Set(table.rows.compactMap { try? $0.object?.decode(PartialObjectMetadata.self).metadata.name }) == ["default", "dev"])

        let discoveryAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        for (path, groups) in [("/api", [""]), ("/apis", ["apiextensions.k8s.io", "apiregistration.k8s.io", "apps", "authentication.k8s.io", "authorization.k8s.io", "batch",
                                                                 "coordination.k8s.io",
                                                                 "discovery.k8s.io", "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "storage.k8s.io"])] {
            let answer = await api.handler.handle(APIRequest(method: "GET", path: path, accept: discoveryAccept))
            guard case .json(200, let data, _, let type) = answer else { Issue.record("\(answer)"); continue }
            #expect(type == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
            let list = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let items = list?["items"] as? [[String: Any]] ?? []
            #expect(items.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String } == groups)
            if path == "/api" {
                let resources = ((items.first?["versions"] as? [[String: Any]])?.first?["resources"] as? [[String: Any]]) ?? []
                let pods = resources.first { $0["resource"] as? String == "pods" }
                #expect(pods?["scope"] as? String == "Namespaced" && pods?["shortNames"] as? [String] == ["po"])
                #expect(pods?["categories"] as? [String] == ["all"])
            }
        }
        // Without the aggregated type: the legacy documents.
        let legacy = await api.handler.handle(APIRequest(method: "GET", path: "/api", accept: "application/json"))
        guard case .json(200, let data, _, _) = legacy else { Issue.record("\(legacy)"); return }
        #expect((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["kind"] as? String == "APIVersions")
    }
}

extension KubectlSupportTests {
    /// kubectl delete waits for the object to go with a streaming list: the current objects, then the
    /// `k8s.io/initial-events-end` bookmark, then changes; without that bookmark it hangs.
    @Test func watchesSendInitialEventsThenTheirEndBookmark() async throws {
        let api = try APITests()
        let response = await api.handler.handle(APIRequest(method: "GET", path: "/api/v1/namespaces",
                                                           query: ["watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
                                                                   "resourceVersionMatch": "NotOlderThan", "fieldSelector": "metadata.name=dev"]))
        guard case .stream(let lines, _) = response else { Issue.record("not a stream"); return }
        var iterator = lines.makeAsyncIterator()
        func next() async throws -> [String: Any] {
            let line = try #require(await iterator.next())
            return try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        }
        let added = try await next()
        #expect(added["type"] as? String == "ADDED")
        #expect(((added["object"] as? [String: Any])?["metadata"] as? [String: Any])?["name"] as? String == "dev")
        let bookmark = try await next()
        #expect(bookmark["type"] as? String == "BOOKMARK")
        let meta = (bookmark["object"] as? [String: Any])?["metadata"] as? [String: Any]
        #expect((meta?["annotations"] as? [String: String])?["k8s.io/initial-events-end"] == "true")
        #expect(meta?["resourceVersion"] as? String != nil)
        // Then the changes: the namespace deleted.
        _ = await api.call("DELETE", "/api/v1/namespaces/dev")
        let change = try await next()
        #expect(["MODIFIED", "DELETED"].contains(change["type"] as? String ?? ""), "\(change)")
    }
}

extension KubectlSupportTests {
    /// `kubectl run --image=curlimages/curl -- sh -c '...'` gives args only: the image's entrypoint script runs
    /// them as a command unless the first is an option, when they are curl's.
    @Test func curlImageArgumentsAreACommandUnlessTheyAreOptions() throws {
        let programs = ImageCatalog.Programs(agnhost: ["agnhost"], clusterDNS: ["dns"], ingressController: ["ingress"])
        func line(_ command: [String]?, _ args: [String]?) throws -> [String] {
            try ImageCatalog.commandLine(image: "curlimages/curl:latest", command: command, args: args, programs: programs).get()
        }
        #expect(try line(nil, ["sh", "-c", "curl -s x"]) == ["sh", "-c", "curl -s x"])
        #expect(try line(nil, ["-s", "http://x"]) == ["curl", "-s", "http://x"])
        #expect(try line(nil, ["http://x"]) == ["curl", "http://x"], "a URL is no command: curl's")
        #expect(try line(nil, nil) == ["curl"])
        #expect(try line(["sleep"], ["infinity"]) == ["sleep", "infinity"])
    }

    /// ingress-nginx's own Deployment runs kindling's controller with the flags both share.
    @Test func ingressNginxImageRunsKindlingsControllerWithSharedFlags() throws {
        let programs = ImageCatalog.Programs(agnhost: ["agnhost"], clusterDNS: ["dns"], ingressController: ["ingress"])
        let args = ["/nginx-ingress-controller", "--election-id=ingress-nginx-leader", "--controller-class=k8s.io/ingress-nginx",
                    "--ingress-class", "nginx", "--publish-service=ingress-nginx/ingress-nginx-controller", "--watch-ingress-without-class",
                    "--validating-webhook=:8443"]
        let line = try ImageCatalog.commandLine(image: "registry.k8s.io/ingress-nginx/controller:v1.12.1@sha256:abc", command: nil, args: args, programs: programs).get()
        #expect(line == ["ingress", "--controller-class=k8s.io/ingress-nginx", "--ingress-class=nginx",
                         "--publish-service=ingress-nginx/ingress-nginx-controller", "--watch-ingress-without-class=true"])
        #expect(ImageCatalog.family(of: "example.com/controller") == nil)
    }

    /// kubectl's exec request: repeated `command` values in order, form-encoded (`+` is a space).
    @Test func execRequestsAndTheirEndings() throws {
        let exec = try #require(PodExec.parse("/api/v1/namespaces/dev/pods/web/exec?command=sh&command=-c&command=echo+a+%3E+b&container=nginx&stdin=true&stdout=true"))
        #expect(exec == PodExec.Request(namespace: "dev", pod: "web", container: "nginx", command: ["sh", "-c", "echo a > b"], stdin: true, tty: false))
        #expect(PodExec.parse("/api/v1/namespaces/dev/pods/web/log") == nil)
        #expect(PodExec.subprotocol(offered: "v5.channel.k8s.io, v4.channel.k8s.io") == "v5.channel.k8s.io")
        #expect(PodExec.subprotocol(offered: "channel.k8s.io") == nil)
        let failed = try JSONSerialization.jsonObject(with: PodExec.finalStatus(exitCode: 3, command: ["false"])) as? [String: Any]
        #expect(failed?["reason"] as? String == "NonZeroExitCode")
        #expect(((failed?["details"] as? [String: Any])?["causes"] as? [[String: String]])?.first == ["reason": "ExitCode", "message": "3"])
        #expect((try JSONSerialization.jsonObject(with: PodExec.finalStatus(exitCode: 0, command: [])) as? [String: Any])?["status"] as? String == "Success")
    }
}

extension KubectlSupportTests {
    /// `dryRun=All` answers a write as if made and stores nothing; other values are refused.
    @Test func dryRunsStoreNothing() async throws {
        let api = try APITests()
        let (created, object) = await api.call("POST", "/apis/apps/v1/namespaces/dev/replicasets", APITests.replicaSet, query: ["dryRun": "All"])
        #expect(created == 201 && (object["spec"] as? [String: Any])?["replicas"] as? Int == 2)
        #expect(await api.call("GET", "/apis/apps/v1/namespaces/dev/replicasets/web").0 == 404)
        #expect(await api.call("POST", "/apis/apps/v1/namespaces/dev/replicasets", APITests.replicaSet).0 == 201)
        let (patched, result) = await api.call("PATCH", "/apis/apps/v1/namespaces/dev/replicasets/web", #"{"spec":{"replicas":5}}"#,
                                               query: ["dryRun": "All"], contentType: "application/merge-patch+json")
        #expect(patched == 200 && (result["spec"] as? [String: Any])?["replicas"] as? Int == 5)
        #expect(await api.call("DELETE", "/apis/apps/v1/namespaces/dev/replicasets/web", query: ["dryRun": "All"]).0 == 200)
        let (_, stored) = await api.call("GET", "/apis/apps/v1/namespaces/dev/replicasets/web")
        #expect((stored["spec"] as? [String: Any])?["replicas"] as? Int == 2)
        #expect(await api.call("POST", "/api/v1/namespaces", #"{"metadata":{"name":"x"}}"#, query: ["dryRun": "Some"]).0 == 400)
    }
}

extension KubectlSupportTests {
    /// One report on one object is one Event whose count grows; events are selected by their object.
    @Test func eventsCountRepeatsAndAreFoundByTheirObject() async throws {
        let api = try APITests()
        let (_, created) = await api.call("POST", "/apis/apps/v1/namespaces/dev/replicasets", APITests.replicaSet)
        let uid = try #require((created["metadata"] as? [String: Any])?["uid"] as? String)
        var set = try KubeJSON.decoder.decode(ReplicaSet.self, from: Data(APITests.replicaSet.utf8))
        set.metadata.namespace = "dev"
        set.metadata.uid = uid
        let first = Event.report(about: set, reason: "SuccessfulCreate", message: "Created pod: web-1", source: .init(component: "test"), now: "2026-11-24T00:00:00Z")
        #expect(first.involvedObject.kind == "ReplicaSet" && first.involvedObject.uid == uid && first.namespace == "dev")
        #expect(first.name == Event.report(about: set, reason: "SuccessfulCreate", message: "Created pod: web-1", source: .init(component: "x"), now: "later").name)
        #expect(first.name != Event.report(about: set, reason: "SuccessfulCreate", message: "Created pod: web-2", source: .init(component: "x"), now: "later").name)
        var again = first
        again.repeated(now: "2026-11-24T00:01:00Z")
        #expect(again.count == 2 && again.lastTimestamp == "2026-11-24T00:01:00Z" && again.firstTimestamp == "2026-11-24T00:00:00Z")

        let body = String(decoding: try KubeJSON.encoder.encode(first), as: UTF8.self)
        #expect(await api.call("POST", "/api/v1/namespaces/dev/events", body).0 == 201)
        let selector = "involvedObject.kind=ReplicaSet,involvedObject.name=web,involvedObject.uid=\(uid)"
        let (_, found) = await api.call("GET", "/api/v1/namespaces/dev/events", query: ["fieldSelector": selector])
        #expect((found["items"] as? [Any])?.count == 1)
        let (_, none) = await api.call("GET", "/api/v1/namespaces/dev/events", query: ["fieldSelector": "involvedObject.name=other"])
        #expect((none["items"] as? [Any])?.isEmpty == true)
        #expect(await api.call("GET", "/api/v1/namespaces/dev/events", query: ["fieldSelector": "spec.nodeName=x"]).0 == 400)
    }
}

extension KubectlSupportTests {
    /// `logs --tail` reads a log from its end, across chunk boundaries, as a whole read would cut it.
    @Test func tailsReadFromTheEndMatchAWholeRead() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = (1...5000).map { "line \($0) " + String(repeating: "x", count: $0 % 37) }.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let whole = Data(text.utf8)
        for count in [0, 1, 10, 999, 5000, 6000] {
            let handle = try #require(FileHandle(forReadingAtPath: path))
            defer { try? handle.close() }
            let end = handle.seekToEndOfFile()
            #expect(LogText.lastLines(of: handle, count, end: end, chunk: 4096) == LogText.lastLines(whole, count), "tail \(count)")
            #expect(handle.offsetInFile == end)
        }
    }

    /// What the server sends an agent for an attached client: frames survive being split anywhere, kubectl's
    /// resize JSON becomes a resize, and a frame no sender makes drops the connection.
    @Test func attachFramesRoundTripAcrossReads() {
        let frames: [AttachFrame] = [.input(Data("nslookup my-nginx\r".utf8)), .resize(columns: 120, rows: 40), .input(Data()), .endOfInput]
        let wire = frames.map { $0.encoded() }.reduce(Data(), +)
        for split in 0...wire.count {
            var buffer = Data(wire.prefix(split))
            var decoded = AttachFrame.decode(&buffer) ?? []
            buffer.append(wire.dropFirst(split))
            decoded += AttachFrame.decode(&buffer) ?? []
            #expect(decoded == frames && buffer.isEmpty, "split at \(split)")
        }
        #expect(AttachFrame.resize(fromKubectl: Data(#"{"Width":120,"Height":40}"#.utf8)) == .resize(columns: 120, rows: 40))
        #expect(AttachFrame.resize(fromKubectl: Data(#"{"Width":-1,"Height":40}"#.utf8)) == nil)
        var bad = Data([7, 0, 0, 0, 0])
        #expect(AttachFrame.decode(&bad) == nil)
    }

    /// `limit` and `continue` as kube-apiserver pages: key order, a token that goes on after the last key and
    /// claims the first page's revision, the rest counted only for unfiltered lists, bad tokens refused.
    @Test func listsArePagedByLimitAndContinue() throws {
        let keys = ["kube-system/coredns", "default/b", "default/a", "a-b/x", "default/c"]
        func page(_ limit: String?, _ token: String?, revision: String = "7") throws -> ListPaging.Page<String> {
            try ListPaging.page(keys, key: { $0 }, revision: revision, limit: limit, continueToken: token, filtered: false)
        }
        #expect(try page(nil, nil).items == keys)
        let first = try page("2", nil)
        #expect(first.items == ["a-b/x", "default/a"] && first.remainingItemCount == 3 && first.resourceVersion == "7")
        let token = try ListPaging.Token.decode(try #require(first.continue))
        #expect(token == ListPaging.Token(revision: 7, after: "default/a"))
        let second = try page("2", first.continue, revision: "9")
        #expect(second.items == ["default/b", "default/c"] && second.resourceVersion == "7")
        let last = try page("2", second.continue, revision: "9")
        #expect(last.items == ["kube-system/coredns"] && last.continue == nil)
        #expect(try page("0", nil).items.count == 5)
        #expect(try ListPaging.page(keys, key: { $0 }, revision: "7", limit: "1", continueToken: nil, filtered: true).remainingItemCount == nil)
        #expect(throws: Status.self) { try page("2", "not-a-token") }
        #expect(throws: Status.self) { try page("-1", nil) }
    }
}
