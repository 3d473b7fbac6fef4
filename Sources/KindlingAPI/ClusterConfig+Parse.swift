import KindlingAddresses
import Yams

extension ClusterConfig {
    public static let apiVersion = "kind.x-k8s.io/v1alpha4"

    /// Reads a kind config file. Every field kind defines is either used, or accepted with a warning that
    /// names it, or rejected by name; a field kind does not define is rejected, as kind's strict decoder does.
    /// `name` (the `--name` flag) wins over the file's `name`, as in kind.
    public static func parse(yaml text: String, name flagName: String? = nil) throws -> ClusterConfig {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigSyntaxError(message: "\(error)")
        }
        var reader = ConfigReader()
        var config = ClusterConfig()
        guard let root else {
            if let flagName { config.name = flagName }
            reader.require(validClusterName: config.name, field: flagName != nil ? "--name" : "name")
            try reader.finish(name: config.name)
            return config
        }
        guard let top = reader.mapping(root, "") else { try reader.finish(name: flagName ?? defaultName); return config }

        let fileName = reader.string(top.first { $0.0 == "name" }?.1, "name")
        config.name = flagName ?? fileName ?? defaultName
        reader.require(validClusterName: config.name, field: flagName != nil ? "--name" : "name")

        switch reader.string(top.first { $0.0 == "kind" }?.1, "kind") {
        case "Cluster": break
        case nil: reader.errors.append(.required("kind", "must be \"Cluster\""))
        case let other?: reader.errors.append(.unsupported("kind", other, supported: ["Cluster"]))
        }
        switch reader.string(top.first { $0.0 == "apiVersion" }?.1, "apiVersion") {
        case apiVersion: break
        case nil: reader.errors.append(.required("apiVersion", "must be \"\(apiVersion)\""))
        case let other?: reader.errors.append(.unsupported("apiVersion", other, supported: [apiVersion]))
        }

        for (key, value) in top {
            switch key {
            case "kind", "apiVersion", "name": break
            case "nodes": config.nodes = reader.nodes(value)
            case "networking": reader.networking(value, into: &config)
            case "featureGates", "runtimeConfig":
                reader.warn(key, "kindling runs no kube-apiserver binaries; its API has a fixed feature set")
            case "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902":
                reader.warn(key, "kindling does not run kubeadm")
            case "containerdConfigPatches", "containerdConfigPatchesJSON6902":
                reader.warn(key, "kindling runs no containerd; pod images map to programs on this machine")
            default: reader.errors.append(.unknownField(key))
            }
        }
        if !config.nodes.contains(where: { $0.role == .controlPlane }) && !reader.sawErrorUnder("nodes") {
            reader.errors.append(.required("nodes", "at least one node must have role \"control-plane\""))
        }
        reader.checkAddressPlan(config)
        config.warnings = reader.warnings
        try reader.finish(name: config.name)
        return config
    }
}

/// The config file is not YAML at all.
public struct ConfigSyntaxError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "error converting YAML to JSON: \(message)" }
}

/// Walks the YAML tree, collecting every problem with its field path instead of stopping at the first.
struct ConfigReader {
    var errors: [FieldError] = []
    var warnings: [String] = []

    func sawErrorUnder(_ prefix: String) -> Bool { errors.contains { $0.field.hasPrefix(prefix) } }

    mutating func warn(_ field: String, _ why: String) {
        warnings.append("\(field): ignored: \(why)")
    }

    func finish(name: String) throws {
        if !errors.isEmpty { throw InvalidObjectError(kind: "Cluster.kind.x-k8s.io", name: name, errors: errors) }
    }

    mutating func mapping(_ node: Yams.Node, _ field: String) -> [(String, Yams.Node)]? {
        guard case .mapping(let mapping) = node else {
            errors.append(.invalid(field.isEmpty ? "<root>" : field, describe(node), "must be a mapping"))
            return nil
        }
        var pairs: [(String, Yams.Node)] = []
        for (key, value) in mapping {
            guard let k = key.string else { errors.append(.invalid(field, describe(key), "keys must be strings")); continue }
            pairs.append((k, value))
        }
        return pairs
    }

    mutating func string(_ node: Yams.Node?, _ field: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            errors.append(.invalid(field, describe(node), "must be a string"))
            return nil
        }
        return scalar.string
    }

    mutating func bool(_ node: Yams.Node, _ field: String) -> Bool? {
        guard let b = node.bool else { errors.append(.invalid(field, describe(node), "must be true or false")); return nil }
        return b
    }

    mutating func int(_ node: Yams.Node, _ field: String) -> Int? {
        guard let i = node.int else { errors.append(.invalid(field, describe(node), "must be an integer")); return nil }
        return i
    }

    func describe(_ node: Yams.Node) -> String {
        switch node {
        case .scalar(let s): return s.string
        case .mapping: return "<mapping>"
        case .sequence: return "<list>"
        case .alias: return "<alias>"
        }
    }

    mutating func require(validClusterName name: String, field: String) {
        if let problem = ClusterNames.problem(with: name) { errors.append(.invalid(field, name, problem)) }
    }

    mutating func nodes(_ value: Yams.Node) -> [ClusterConfig.Node] {
        guard case .sequence(let items) = value else {
            errors.append(.invalid("nodes", describe(value), "must be a list"))
            return []
        }
        var nodes: [ClusterConfig.Node] = []
        for (i, item) in items.enumerated() {
            let path = "nodes[\(i)]"
            guard let fields = mapping(item, path) else { continue }
            var node = ClusterConfig.Node(role: .controlPlane)
            for (key, value) in fields {
                switch key {
                case "role":
                    guard let text = string(value, "\(path).role") else { break }
                    if let role = ClusterConfig.NodeRole(rawValue: text) {
                        node.role = role
                    } else {
                        errors.append(.unsupported("\(path).role", text,
                                                   supported: ClusterConfig.NodeRole.allCases.map(\.rawValue)))
                    }
                case "labels": node.labels = labels(value, "\(path).labels")
                case "image": warn("\(path).image", "kindling nodes are network namespaces, not containers")
                case "extraMounts": warn("\(path).extraMounts", "kindling nodes share this machine's filesystem")
                case "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902":
                    warn("\(path).\(key)", "kindling does not run kubeadm")
                case "extraPortMappings":
                    errors.append(.forbidden("\(path).extraPortMappings",
                        "kindling publishes no host ports: NodePorts answer on the node IPs"))
                default: errors.append(.unknownField("\(path).\(key)"))
                }
            }
            nodes.append(node)
        }
        if items.isEmpty { errors.append(.required("nodes", "at least one node is needed")) }
        if items.count > ClusterConfig.maxNodes {
            errors.append(.invalid("nodes", "\(items.count) nodes", "at most \(ClusterConfig.maxNodes) nodes fit the node network"))
        }
        return nodes
    }

    mutating func labels(_ value: Yams.Node, _ field: String) -> [String: String] {
        guard let pairs = mapping(value, field) else { return [:] }
        var labels: [String: String] = [:]
        for (key, value) in pairs {
            guard let text = string(value, "\(field).\(key)") else { continue }
            for problem in LabelValidation.keyProblems(key) { errors.append(.invalid(field, key, problem)) }
            for problem in LabelValidation.valueProblems(text) { errors.append(.invalid("\(field).\(key)", text, problem)) }
            labels[key] = text
        }
        return labels
    }

    mutating func networking(_ value: Yams.Node, into config: inout ClusterConfig) {
        guard let pairs = mapping(value, "networking") else { return }
        for (key, value) in pairs {
            let path = "networking.\(key)"
            switch key {
            case "podSubnet": if let c = cidr(value, path) { config.podSubnet = c }
            case "serviceSubnet": if let c = cidr(value, path) { config.serviceSubnet = c }
            case "ipFamily":
                guard let family = string(value, path) else { break }
                if family != "ipv4" {
                    errors.append(family == "ipv6" || family == "dual"
                        ? .forbidden(path, "kindling builds IPv4 clusters only")
                        : .unsupported(path, family, supported: ["ipv4", "ipv6", "dual"]))
                }
            case "kubeProxyMode":
                guard let mode = string(value, path) else { break }
                if let m = ClusterConfig.ProxyMode(rawValue: mode) {
                    config.kubeProxyMode = m
                } else if mode == "ipvs" {
                    errors.append(.forbidden(path, "this kernel has no IPVS; use \"nftables\" (the default) or \"iptables\""))
                } else {
                    errors.append(.unsupported(path, mode, supported: ClusterConfig.ProxyMode.allCases.map(\.rawValue)))
                }
            case "apiServerAddress":
                guard let address = string(value, path) else { break }
                if address != "127.0.0.1" {
                    errors.append(.forbidden(path, "the API server listens on loopback only (127.0.0.1)"))
                }
            case "apiServerPort":
                guard let port = int(value, path) else { break }
                if !(0...65535).contains(port) {
                    errors.append(.invalid(path, String(port), "must be between 0 and 65535, inclusive"))
                } else {
                    config.apiServerPort = port == 0 ? nil : port
                }
            case "disableDefaultCNI":
                if bool(value, path) == true {
                    errors.append(.forbidden(path, "kindling's agents are the cluster network; pods cannot be wired without them"))
                }
            case "dnsSearch": warn(path, "kindling nodes use this machine's resolver settings")
            case "loadBalancerPool":
                guard let text = string(value, path) else { break }
                let subnet = ClusterConfig.nodeSubnet
                guard let range = IPv4Range(text) else {
                    errors.append(.invalid(path, text, "must be a range (172.18.255.200-172.18.255.250) or a CIDR"))
                    break
                }
                if !subnet.contains(range.first) || !subnet.contains(range.last) {
                    errors.append(.invalid(path, text, "must lie inside the node network \(subnet)"))
                } else if range.first.value < subnet.network.value + 2 + UInt32(ClusterConfig.maxNodes)
                            || range.last.value >= subnet.network.value + UInt32(subnet.size) - 2 {
                    errors.append(.invalid(path, text, "must leave the node addresses (\(subnet.network.advanced(by: 2)) and up) and the external client (\(subnet.network.advanced(by: Int(subnet.size) - 2))) free"))
                } else {
                    config.loadBalancerPool = range
                }
            default: errors.append(.unknownField(path))
            }
        }
    }

    mutating func cidr(_ value: Yams.Node, _ field: String) -> IPv4CIDR? {
        guard let text = string(value, field) else { return nil }
        if text.contains(":") {
            errors.append(.forbidden(field, "kindling builds IPv4 clusters only"))
            return nil
        }
        if text.contains(",") {
            errors.append(.invalid(field, text, "must be a single IPv4 CIDR; kindling builds IPv4 clusters only"))
            return nil
        }
        guard let cidr = IPv4CIDR(text) else {
            errors.append(.invalid(field, text, "must be a valid CIDR with its host bits zero, e.g. 10.244.0.0/16"))
            return nil
        }
        return cidr
    }

    /// The subnets must fit the node count and must not overlap each other or the node network.
    mutating func checkAddressPlan(_ config: ClusterConfig) {
        let perNode = ClusterConfig.nodePodCIDRPrefixLength
        if config.podSubnet.prefixLength > perNode {
            errors.append(.invalid("networking.podSubnet", config.podSubnet.description,
                                   "must be /\(perNode) or larger: each node gets a /\(perNode)"))
        } else if UInt64(config.nodes.count) > UInt64(1) << UInt64(perNode - config.podSubnet.prefixLength) {
            errors.append(.invalid("networking.podSubnet", config.podSubnet.description,
                                   "too small for \(config.nodes.count) nodes with one /\(perNode) each"))
        }
        if config.serviceSubnet.prefixLength < 12 || config.serviceSubnet.prefixLength > 28 {
            errors.append(.invalid("networking.serviceSubnet", config.serviceSubnet.description,
                                   "prefix length must be between /12 and /28"))
        }
        if config.podSubnet.overlaps(config.serviceSubnet) {
            errors.append(.invalid("networking.serviceSubnet", config.serviceSubnet.description,
                                   "must not overlap networking.podSubnet (\(config.podSubnet))"))
        }
        for (field, subnet) in [("networking.podSubnet", config.podSubnet), ("networking.serviceSubnet", config.serviceSubnet)]
        where subnet.overlaps(ClusterConfig.nodeSubnet) {
            errors.append(.invalid(field, subnet.description, "must not overlap the node network \(ClusterConfig.nodeSubnet)"))
        }
    }
}

extension ClusterConfig {
    /// Node addresses are .2 upwards on the node network; a few hundred are plenty on one machine.
    public static let maxNodes = 200
}
