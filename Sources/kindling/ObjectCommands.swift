import ArgumentParser
import Foundation
import KindlingAPI
import KindlingClient
import KindlingCluster
import KindlingMachinery
import KindlingPrinters
import KindlingServer
import Yams

/// `-n` / `-A` as kubectl takes them.
struct NamespaceOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "The namespace. (default \"default\")")
    var namespace: String?

    @Flag(name: [.customShort("A"), .long], help: "List across all namespaces.")
    var allNamespaces = false
}

/// The named objects, or with no names all of the namespace (nil: every namespace) matching `selector`.
func fetch<T: KubeObject>(_ type: T.Type, names: [String], namespace: String?, selector: String?, _ client: APIClient) async throws -> [T] {
    guard !names.isEmpty else { return try await client.list(T.self, namespace: namespace, labelSelector: selector).items }
    var objects: [T] = []
    for name in names { objects.append(try await client.get(T.self, namespace: namespace ?? "default", name: name)) }
    return objects
}

/// How kubectl names an object in its messages: `deployment.apps/nginx`, `pod/x`.
func displayName(_ type: any KubeObject.Type, _ name: String) -> String {
    let group = type.group
    return "\(type.kind.lowercased())\(group.isEmpty ? "" : ".\(group)")/\(name)"
}

func readSource(_ file: String) throws -> String {
    if file == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
    guard let data = FileManager.default.contents(atPath: file) else {
        throw CLIError("the path \"\(file)\" does not exist")
    }
    return String(decoding: data, as: UTF8.self)
}

func resolveKind(_ name: String) throws -> any KubeObject.Type {
    guard let type = Kinds.byName(name) else {
        throw CLIError("the server doesn't have a resource type \"\(name)\"")
    }
    return type
}

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Creates or updates the objects of a manifest, like `kubectl apply -f`.",
        discussion: "Takes multi-document YAML or JSON with Kubernetes manifests as they are. Prints created, configured or unchanged per object."
    )

    @OptionGroup var cluster: ClusterOption
    @OptionGroup var namespaces: NamespaceOptions

    @Option(name: [.short, .customLong("filename")], help: "The manifest file, or - for standard input.")
    var file: String

    func run() async throws {
        try await reportingErrors("error") {
            let objects = try Manifest.parse(try readSource(file), source: file)
            let client = try apiClient(cluster.name)
            var failed = false
            for object in objects {
                guard let type = object.type else {
                    throw CLIError("resource mapping not found for name: \"\(object.name)\" namespace: \"\(object.namespace ?? "")\" from \"\(file)\": no matches for kind \"\(object.kind)\" in version \"\(object.apiVersion)\"")
                }
                do {
                    print(try await apply(type, object, client))
                } catch let status as Status {
                    printError("Error from server (\(status.reason)): error when applying \(displayName(type, object.name)) from \"\(file)\": \(status.message)")
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    func apply<T: KubeObject>(_ type: T.Type, _ manifest: ManifestObject, _ client: APIClient) async throws -> String {
        var object: T
        do {
            object = try KubeJSON.decoder.decode(T.self, from: manifest.json)
        } catch let error as DecodingError {
            throw CLIError("error validating \"\(file)\": error validating data: \(error.fieldDescription)")
        }
        // kubectl validates strictly by default: what the server's strict decoding would refuse is refused here.
        let unknown = FieldValidation.unknownFields(of: object, body: manifest.json)
        for warning in try FieldValidation.check(kind: T.kind, apiVersion: T.apiVersion, unknown: unknown, .strict) {
            printError("Warning: \(warning)")
        }
        var namespace: String?
        if T.namespaced {
            if let flag = namespaces.namespace, let own = object.metadata.namespace, own != flag {
                throw CLIError("the namespace from the provided object \"\(own)\" does not match the namespace \"\(flag)\". You must pass '--namespace=\(own)' to perform this operation.")
            }
            namespace = object.metadata.namespace ?? namespaces.namespace ?? "default"
            object.metadata.namespace = namespace
        }
        let name = displayName(T.self, object.name)
        let manifestTree = try KubeJSON.tree(object)
        let lastApplied = String(decoding: try JSONSerialization.data(withJSONObject: manifestTree, options: [.sortedKeys]), as: UTF8.self)
        let existing: T
        do {
            existing = try await client.get(T.self, namespace: namespace, name: object.name)
        } catch let status as Status where status.code == 404 {
            var annotations = object.metadata.annotations ?? [:]
            annotations[Apply.lastAppliedAnnotation] = lastApplied
            object.metadata.annotations = annotations
            _ = try await client.create(object, namespace: namespace)
            return "\(name) created"
        }
        // kubectl's three-way apply: the manifest is merged onto the live object (so fields others set, such as
        // a pod's nodeName or a scale, stay), and fields the last applied manifest had but this one dropped go.
        let previous = existing.metadata.annotations?[Apply.lastAppliedAnnotation]
            .flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
        var patch = Apply.withRemovals(manifestTree, previous: previous)
        var meta = patch["metadata"] as? [String: Any] ?? [:]
        var annotations = meta["annotations"] as? [String: Any] ?? [:]
        annotations[Apply.lastAppliedAnnotation] = lastApplied
        meta["annotations"] = annotations
        patch["metadata"] = meta
        let mergedTree = KubeJSON.mergePatch(patch, onto: try KubeJSON.tree(existing)) as? [String: Any] ?? [:]
        var merged = try KubeJSON.value(T.self, from: mergedTree)
        merged.applyDefaults()
        var current = existing
        current.applyDefaults()
        if Apply.sameIntent(merged, current) { return "\(name) unchanged" }
        merged.metadata.resourceVersion = existing.metadata.resourceVersion
        _ = try await client.update(merged)
        return "\(name) configured"
    }

    static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

    /// The manifest plus a null for every key the previous manifest had and this one has not.
    static func withRemovals(_ manifest: [String: Any], previous: [String: Any]) -> [String: Any] {
        var patch = manifest
        for (key, old) in previous {
            if let new = manifest[key] {
                if let newMap = new as? [String: Any], let oldMap = old as? [String: Any] {
                    patch[key] = withRemovals(newMap, previous: oldMap)
                }
            } else {
                patch[key] = NSNull()
            }
        }
        return patch
    }

    /// Whether the object already is what the manifest asks for (labels, annotations, spec).
    static func sameIntent<T: KubeObject>(_ desired: T, _ current: T) -> Bool {
        func intent(_ object: T) -> NSDictionary? {
            guard var tree = try? KubeJSON.tree(object) else { return nil }
            tree["status"] = nil
            let meta = tree["metadata"] as? [String: Any] ?? [:]
            tree["metadata"] = ["labels": meta["labels"] ?? [:], "annotations": meta["annotations"] ?? [:]]
            return tree as NSDictionary
        }
        return intent(desired) == intent(current)
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lists clusters or prints a kubeconfig (like kind), or lists objects (like kubectl): get clusters | get kubeconfig | get KIND [NAME...].",
        discussion: "Object lists have kubectl's columns; -o wide adds IP and NODE for pods, INTERNAL-IP for nodes."
    )

    @Argument(help: "clusters, kubeconfig, or a kind the server serves, by kubectl's names: pods (po), services (svc), endpoints (ep), endpointslices, replicasets (rs), replicationcontrollers (rc), deployments (deploy), nodes (no), namespaces (ns), configmaps (cm), secrets, leases, events (ev), networkpolicies (netpol), ingresses (ing), ingressclasses, and custom kinds (found through discovery).")
    var type: String

    @Argument(help: "Names of objects to show (default: all).")
    var names: [String] = []

    @OptionGroup var cluster: ClusterOption
    @OptionGroup var namespaces: NamespaceOptions

    @Option(name: [.short, .long], help: "Output format: wide, yaml, json or name.")
    var output: String?

    @Option(name: [.customShort("l"), .customLong("selector")], help: "Label selector, e.g. app=nginx,tier!=db.")
    var selector: String?

    func validate() throws {
        if let output, !["wide", "yaml", "json", "name"].contains(output) {
            throw ValidationError("unable to match a printer suitable for the output format \"\(output)\", allowed formats are: json,name,wide,yaml")
        }
    }

    func run() async throws {
        if type == "kubeconfig" {
            try await reportingErrors("ERROR") {
                print(try YAMLOutput.text(Kubeconfig.standalone(try kubeconfigEntry(cluster: cluster.name))), terminator: "")
            }
            return
        }
        if type == "clusters" || type == "cluster" {
            let names = ClusterState.clusterNames()
            if names.isEmpty { printError("No kindling clusters found.") }
            for name in names { print(name) }
            return
        }
        try await reportingErrors("error") {
            let client = try apiClient(cluster.name)
            if let kind = Kinds.byName(type) {
                try await show(kind, client)
            } else if let served = try await ServedResource.find(type, client) {
                let namespace = served.namespaced ? (namespaces.allNamespaces ? nil : namespaces.namespace ?? "default") : nil
                try await served.show(names: names, namespace: namespace, selector: selector, output: output, client)
            } else {
                _ = try resolveKind(type)
            }
        }
    }

    func show<T: KubeObject>(_ type: T.Type, _ client: APIClient) async throws {
        let namespace = T.namespaced ? (namespaces.allNamespaces ? nil : namespaces.namespace ?? "default") : nil
        var objects = try await fetch(T.self, names: names, namespace: namespace, selector: selector, client)
        switch output {
        case "json", "yaml":
            // As kubectl shows objects unless asked with --show-managed-fields.
            for index in objects.indices { objects[index].metadata.managedFields = nil }
            let data: Data = try names.count == 1 ? KubeJSON.encoder.encode(objects[0])
                : JSONSerialization.data(withJSONObject: [
                    "apiVersion": "v1", "kind": "List", "metadata": ["resourceVersion": ""],
                    "items": try objects.map { try KubeJSON.tree($0) },
                ])
            let tree = try JSONSerialization.jsonObject(with: data)
            if output == "json" {
                let pretty = try JSONSerialization.data(withJSONObject: tree, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: pretty, as: UTF8.self))
            } else {
                print(try YAMLOutput.text(tree), terminator: "")
            }
        case "name":
            for object in objects { print(displayName(T.self, object.name)) }
        default:
            if objects.isEmpty {
                printError(T.namespaced && namespace != nil ? "No resources found in \(namespace!) namespace." : "No resources found")
                return
            }
            let table = Printing.table(objects, wide: output == "wide", withNamespace: namespace == nil, now: Date().timeIntervalSince1970,
                                       parseTime: { Timestamp.date($0)?.timeIntervalSince1970 })
            print(table.text, terminator: "")
        }
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deletes a cluster (like kind) or objects (like kubectl): delete cluster | delete TYPE NAME... | delete -f FILE.",
        discussion: "`delete cluster` removes every namespace, link, mount, process and file of the cluster, found by its name, also after a crash; deleting a cluster that is not there succeeds, as in kind."
    )

    @Argument(help: "cluster, or a kind followed by names.")
    var arguments: [String] = []

    @OptionGroup var cluster: ClusterOption
    @OptionGroup var namespaces: NamespaceOptions
    @OptionGroup var kubeconfig: KubeconfigOption

    @Option(name: [.short, .customLong("filename")], help: "Delete the objects of this manifest (- for standard input).")
    var file: String?

    func run() async throws {
        if arguments.first == "cluster" || arguments.first == "clusters" {
            try await reportingErrors("ERROR: failed to delete cluster \"\(cluster.name)\"") {
                try requireRoot("kindling delete cluster")
                printError("Deleting cluster \"\(cluster.name)\" ...")
                let teardown = try ClusterProvisioner().delete(cluster: cluster.name)
                for namespace in teardown.namespaces { printError("Deleted network namespace: \(namespace)") }
                try kubeconfig.remove(cluster: cluster.name)
            }
            return
        }
        try await reportingErrors("error") {
            let client = try apiClient(cluster.name)
            var targets: [(any KubeObject.Type, String, String?)] = []
            if let file {
                for object in try Manifest.parse(try readSource(file), source: file) {
                    guard let type = object.type else { throw CLIError("no matches for kind \"\(object.kind)\" in version \"\(object.apiVersion)\"") }
                    targets.append((type, object.name, object.namespace))
                }
            } else {
                guard arguments.count >= 2 else {
                    throw CLIError("You must provide one or more resources by argument or filename.")
                }
                let type = try resolveKind(arguments[0])
                targets = arguments.dropFirst().map { (type, $0, nil) }
            }
            var failed = false
            for (type, name, namespace) in targets {
                do {
                    try await delete(type, name: name, namespace: namespace, client)
                } catch let status as Status {
                    printError("Error from server (\(status.reason)): \(status.message)")
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    func delete<T: KubeObject>(_ type: T.Type, name: String, namespace: String?, _ client: APIClient) async throws {
        let ns = T.namespaced ? (namespace ?? namespaces.namespace ?? "default") : nil
        try await client.delete(T.self, namespace: ns, name: name)
        print("\(T.kind.lowercased())\(T.group.isEmpty ? "" : ".\(T.group)") \"\(name)\" deleted")
    }
}

struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Sets the replicas of a Deployment or ReplicaSet, like `kubectl scale`."
    )

    @Argument(help: "deployment NAME, replicaset NAME, or deployment/NAME.")
    var target: [String]

    @Option(name: .long, help: "The new number of replicas.")
    var replicas: Int

    @OptionGroup var cluster: ClusterOption
    @OptionGroup var namespaces: NamespaceOptions

    func run() async throws {
        try await reportingErrors("error") {
            let parts = target.count == 1 ? target[0].split(separator: "/").map(String.init) : target
            guard parts.count == 2 else { throw CLIError("expected TYPE NAME or TYPE/NAME, got \(target.joined(separator: " "))") }
            let type = try resolveKind(parts[0])
            guard let scalable = type as? any Scalable.Type else {
                throw CLIError("cannot scale \(type.resource): only deployments and replicasets have replicas")
            }
            if replicas < 0 { throw CLIError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0") }
            let client = try apiClient(cluster.name)
            try await scale(scalable, name: parts[1], client)
        }
    }

    func scale<T: Scalable>(_ type: T.Type, name: String, _ client: APIClient) async throws {
        _ = try await client.scale(T.self, namespace: namespaces.namespace ?? "default", name: name, replicas: replicas)
        print("\(displayName(T.self, name)) scaled")
    }
}

struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Shows a service as `kubectl describe svc` does: ports, target ports, node ports, endpoints, policies.",
        discussion: "Services are the kind kindling describes so far; `get -o yaml` shows every field of any object."
    )

    @Argument(help: "services (svc).")
    var type: String

    @Argument(help: "Names of services to describe (default: all in the namespace).")
    var names: [String] = []

    @OptionGroup var cluster: ClusterOption
    @OptionGroup var namespaces: NamespaceOptions

    func run() async throws {
        try await reportingErrors("error") {
            let kind = try resolveKind(type)
            guard kind == Service.self else {
                throw CLIError("kindling describes services (svc) so far; `kindling get \(type) -o yaml` shows \(kind.resource)")
            }
            let client = try apiClient(cluster.name)
            let namespace = namespaces.allNamespaces ? nil : namespaces.namespace ?? "default"
            let services = try await fetch(Service.self, names: names, namespace: namespace, selector: nil, client)
            let slices = try await client.list(EndpointSlice.self, namespace: namespace).items
            let texts = services.map { service in
                Describe.service(service, slices: slices.filter {
                    $0.namespace == service.namespace && $0.metadata.labels?[EndpointSlice.serviceNameLabel] == service.name
                })
            }
            if texts.isEmpty { printError("No resources found in \(namespace ?? "any") namespace.") }
            print(texts.joined(separator: "\n\n\n"), terminator: "")
        }
    }
}
