import Foundation

/// nginx's whole configuration for a set of routes, in ingress-nginx's shape: one `upstream` per backend with the
/// endpoints as servers, one `server` per host listening on HTTP and HTTPS, locations for the paths, and a health
/// server on its own port. Pure: the controller writes the text and the certificates and reloads nginx with it.
public struct NginxConfig: Sendable {
    public struct Ports: Sendable, Equatable {
        public var http: Int
        public var https: Int
        public var health: Int
        public init(http: Int = 80, https: Int = 443, health: Int = 10254) {
            self.http = http
            self.https = https
            self.health = health
        }
    }

    /// Where the files live: the directory holding the pid file and temporary files, and the certificates.
    public var directory: String
    public var ports: Ports
    public var workerProcesses: String

    public init(directory: String, ports: Ports = Ports(), workerProcesses: String = "auto") {
        self.directory = directory
        self.ports = ports
        self.workerProcesses = workerProcesses
    }

    public var certificateDirectory: String { "\(directory)/certificates" }

    public func certificatePath(_ certificate: IngressRoutes.Certificate) -> String { "\(certificateDirectory)/\(certificate.fileName)" }

    public static let defaultCertificateName = "default-fake-certificate.pem"
    public var defaultCertificatePath: String { "\(certificateDirectory)/\(Self.defaultCertificateName)" }
    public var pidPath: String { "\(directory)/nginx.pid" }

    public func render(_ routes: IngressRoutes) -> String {
        var out = """
            # Written by kindling ingress-controller from the cluster's Ingresses; rewritten on every change.
            daemon off;
            worker_processes \(workerProcesses);
            pid \(pidPath);
            error_log stderr notice;
            # A reload lets old workers finish what they serve, for at most this long.
            worker_shutdown_timeout 240s;
            events {
                worker_connections 16384;
                multi_accept on;
            }
            http {
                log_format upstreaminfo '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $request_id';
                access_log /dev/stdout upstreaminfo;
                client_body_temp_path \(directory)/client-body;
                proxy_temp_path \(directory)/proxy;
                sendfile on;
                tcp_nopush on;
                tcp_nodelay on;
                keepalive_timeout 75s;
                keepalive_requests 1000;
                client_max_body_size 1m;
                server_tokens on;
                server_names_hash_bucket_size \(Self.serverNamesBucketSize(routes.servers.map(\.host)));
                server_names_hash_max_size 4096;
                map $http_upgrade $connection_upgrade {
                    default upgrade;
                    '' '';
                }
                proxy_http_version 1.1;
                proxy_set_header Host $host;
                proxy_set_header X-Request-ID $request_id;
                proxy_set_header X-Real-IP $remote_addr;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                proxy_set_header X-Forwarded-Host $host;
                proxy_set_header X-Forwarded-Port $server_port;
                proxy_set_header X-Forwarded-Proto $scheme;
                proxy_set_header X-Scheme $scheme;
                proxy_set_header Upgrade $http_upgrade;
                proxy_set_header Connection $connection_upgrade;
                proxy_connect_timeout 5s;
                proxy_send_timeout 60s;
                proxy_read_timeout 60s;
                proxy_buffering off;
                proxy_next_upstream error timeout;
                proxy_next_upstream_tries 3;
                ssl_protocols TLSv1.2 TLSv1.3;
                ssl_session_cache shared:SSL:10m;
                ssl_session_timeout 10m;
                ssl_certificate \(defaultCertificatePath);
                ssl_certificate_key \(defaultCertificatePath);

            """
        for (name, servers) in routes.upstreams.sorted(by: { $0.key < $1.key }) {
            out += "    upstream \(name) {\n"
            for server in servers { out += "        server \(server) max_fails=0;\n" }
            out += "        keepalive 320;\n        keepalive_requests 10000;\n        keepalive_timeout 60s;\n    }\n"
        }
        for server in routes.servers { out += render(server, certificate: server.certificate.flatMap { routes.certificates[$0] }) }
        out += """
                server {
                    listen \(ports.health);
                    access_log off;
                    location = /healthz { return 200 "ok\\n"; }
                    location / { return 404; }
                }
            }

            """
        return out
    }

    func render(_ server: IngressRoutes.Server, certificate: IngressRoutes.Certificate?) -> String {
        let isDefault = server.host.isEmpty
        let suffix = isDefault ? " default_server backlog=4096" : ""
        var out = "\n    server {\n"
        out += "        server_name \(isDefault ? "_" : Self.serverName(server.host));\n"
        out += "        listen \(ports.http)\(suffix);\n"
        out += "        listen \(ports.https) ssl\(suffix);\n"
        if let certificate {
            out += "        ssl_certificate \(certificatePath(certificate));\n        ssl_certificate_key \(certificatePath(certificate));\n"
        }
        for location in server.locations { out += render(location) }
        return out + "    }\n"
    }

    func render(_ location: IngressRoutes.Location) -> String {
        let match: String
        switch location.match {
        case .exact(let path): match = "= \(Self.quoted(path))"
        case .prefix(let path): match = Self.quoted(path)
        case .regex(let path): match = "~* " + Self.quoted("^" + path)
        }
        var out = "        location \(match) {\n"
        if location.redirectToHTTPS {
            let port = ports.https == 443 ? "" : ":\(ports.https)"
            out += "            if ($scheme = http) { return 308 https://$host\(port)$request_uri; }\n"
        }
        if let rewrite = location.rewrite {
            out += "            rewrite \(Self.quoted("(?i)" + rewrite.path)) \(Self.quoted(rewrite.target)) break;\n"
        }
        switch location.action {
        case .proxy(let upstream):
            out += "            set $proxy_upstream_name \"\(upstream)\";\n            proxy_pass http://\(upstream);\n"
        case .unavailable(let upstream):
            out += "            set $proxy_upstream_name \"\(upstream)\";\n            return 503;\n"
        case .notFound:
            out += "            set $proxy_upstream_name \"upstream-default-backend\";\n            return 404;\n"
        }
        return out + "        }\n"
    }

    /// nginx keeps server names in hash buckets of this many bytes, and refuses to start when the longest name
    /// (a DNS name may have 253 characters) does not fit one with its overhead.
    static func serverNamesBucketSize(_ hosts: [String]) -> Int {
        let longest = hosts.map { serverName($0).utf8.count }.max() ?? 0
        var size = 128
        while size < longest + 32 { size *= 2 }
        return size
    }

    /// A `*.` wildcard host matches exactly one label in Kubernetes, and any number in nginx's own wildcard form:
    /// a regular expression says it exactly.
    static func serverName(_ host: String) -> String {
        guard host.hasPrefix("*.") else { return host }
        return "~^[^.]+" + host.dropFirst().replacingOccurrences(of: ".", with: "\\.") + "$"
    }

    /// A path as an nginx string: quoted, so spaces, braces and semicolons stay part of it.
    static func quoted(_ path: String) -> String {
        "\"" + path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
