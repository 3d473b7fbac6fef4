import Foundation

/// Pods name images as real manifests do; kindling runs no images, so the catalog maps each to a program on
/// this machine with the same behaviour: Debian's nginx for `nginx`, kindling's own agnhost for
/// `registry.k8s.io/e2e-test-images/agnhost`, kindling's DNS server for `registry.k8s.io/coredns/coredns`, its
/// ingress controller (over Debian's nginx) for `registry.k8s.io/ingress-nginx/controller`, and the machine's tools
/// for busybox-, curl- and distro images.
public enum ImageCatalog {
    /// How to run kindling's own stand-ins: agnhost, the cluster DNS server and the ingress controller.
    public struct Programs: Sendable {
        public let agnhost: [String]
        public let clusterDNS: [String]
        public let ingressController: [String]

        public init(agnhost: [String], clusterDNS: [String], ingressController: [String]) {
            self.agnhost = agnhost
            self.clusterDNS = clusterDNS
            self.ingressController = ingressController
        }
    }

    public enum Family: Equatable, Sendable {
        /// Debian's nginx serving the pod's /usr/share/nginx/html on port 80.
        case nginx
        /// agnhost's subcommands (netexec, ...) served by `kindling agnhost`.
        case agnhost
        /// CoreDNS: kindling's cluster DNS server (`kindling dns`); the Corefile arguments do not apply.
        case clusterDNS
        /// ingress-nginx's controller: `kindling ingress-controller`, given the flags of ingress-nginx's it shares.
        case ingressController
        /// The container's command and args with the machine's tools; `entrypoint` is the image's default.
        case tools(entrypoint: [String])
    }

    public struct NotInCatalog: Error, Equatable, CustomStringConvertible {
        public let image: String
        public var description: String {
            "image \"\(image)\" is not in kindling's catalog; pods can use nginx, registry.k8s.io/e2e-test-images/agnhost, registry.k8s.io/coredns/coredns, registry.k8s.io/ingress-nginx/controller, busybox, curlimages/curl, alpine, debian, ubuntu, nicolaka/netshoot"
        }
    }

    /// `docker.io/library/nginx:1.25@sha256:...` -> `nginx`; `registry.k8s.io/e2e-test-images/agnhost:2.39` ->
    /// `registry.k8s.io/e2e-test-images/agnhost`.
    public static func repository(_ image: String) -> String {
        var name = Substring(image)
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") { name = name[..<colon] }
        for prefix in ["docker.io/library/", "index.docker.io/library/", "docker.io/", "library/"] where name.hasPrefix(prefix) {
            name = name.dropFirst(prefix.count)
            break
        }
        return String(name)
    }

    public static func family(of image: String) -> Family? {
        let repo = repository(image)
        let base = repo.split(separator: "/").last.map(String.init) ?? repo
        switch base {
        // nginxhttps: seed 001's HTTPS example image, nginx reading the pod's /etc/nginx/conf.d.
        // nginx-slim: the StatefulSet tutorial's image.
        case "nginx", "nginx-unprivileged", "nginxhttps", "nginx-slim": return .nginx
        case "agnhost": return .agnhost
        case "coredns": return .clusterDNS
        case "controller" where repo.hasSuffix("ingress-nginx/controller"): return .ingressController
        case "busybox", "busyboxplus", "alpine": return .tools(entrypoint: ["sh"])
        case "debian", "ubuntu", "netshoot", "network-multitool", "dnsutils", "jessie-dnsutils": return .tools(entrypoint: ["bash"])
        case "curl": return .tools(entrypoint: ["curl"])
        default: return nil
        }
    }

    /// What a container runs, before its first word is resolved through PATH. kubectl semantics:
    /// `command` replaces the image's entrypoint, `args` its default arguments.
    public static func commandLine(image: String, command: [String]?, args: [String]?, programs: Programs,
                                   isCommand: (String) -> Bool = ImageCatalog.isOnPath) -> Result<[String], NotInCatalog> {
        guard let family = family(of: image) else { return .failure(NotInCatalog(image: image)) }
        let command = command ?? []
        let args = args ?? []
        switch family {
        case .nginx:
            // A command of its own (`sh -c ...`) runs as given; otherwise nginx itself.
            return .success(command.isEmpty ? [] : command + args)
        case .agnhost:
            var words = command + args
            if let first = words.first, first.hasSuffix("agnhost") { words.removeFirst() }
            return .success(programs.agnhost + words)
        case .clusterDNS:
            return .success(programs.clusterDNS)
        case .ingressController:
            return .success(programs.ingressController + ingressControllerFlags(command + args))
        case .tools(let entrypoint):
            if !command.isEmpty { return .success(command + args) }
            // curlimages/curl's entrypoint script runs `curl "$@"` when the first argument is an option or no
            // command (a URL), and the arguments themselves otherwise (`kubectl run --image=curlimages/curl -- sh -c ...`).
            if entrypoint == ["curl"] {
                guard let first = args.first, !first.hasPrefix("-"), isCommand(first) else { return .success(["curl"] + args) }
                return .success(args)
            }
            return .success(args.isEmpty ? entrypoint : args)
        }
    }

    /// ingress-nginx's flags that `kindling ingress-controller` shares (`--flag=value` or `--flag value`); the
    /// others (leader election, admission webhook, metrics) do not apply and are left out.
    static let ingressControllerOptions: Set<String> = [
        "--controller-class", "--ingress-class", "--publish-service", "--watch-ingress-without-class",
        "--http-port", "--https-port", "--healthz-port",
    ]

    static func ingressControllerFlags(_ words: [String]) -> [String] {
        var kept: [String] = []
        var index = words.startIndex
        while index < words.endIndex {
            let word = words[index]
            index += 1
            let name = String(word.prefix { $0 != "=" })
            guard ingressControllerOptions.contains(name) else { continue }
            if word.contains("=") {
                kept.append(word)
            } else if name == "--watch-ingress-without-class" {
                kept.append(word + "=true")
            } else if index < words.endIndex {
                kept.append(word + "=" + words[index])
                index += 1
            }
        }
        return kept
    }

    /// The PATH containers run with.
    public static let containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Whether `name` runs as a command in a container: a path, or a program in the containers' PATH.
    public static func isOnPath(_ name: String) -> Bool {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) }
        return containerPath.split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}

