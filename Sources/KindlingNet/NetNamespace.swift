import CLinuxShim
import Foundation

/// A named network namespace pinned under /run/netns, so `ip netns exec NAME ...` works on it too.
public struct NetNamespace: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) { self.name = name }

    public static let runDirectory = "/run/netns"
    public var path: String { "\(NetNamespace.runDirectory)/\(name)" }
    public var description: String { name }

    /// Creates the namespace with `lo` up; `setup` runs inside it before anything else can see it.
    @discardableResult
    public static func create(_ name: String, setup: (RouteSocket) throws -> Void = { _ in }) throws -> NetNamespace {
        let namespace = NetNamespace(name)
        try NamespaceThread.shared.createNamespace(namespace) {
            let socket = try RouteSocket()
            try socket.setUp("lo")
            try setup(socket)
        }
        return namespace
    }

    /// Unpins the namespace. The kernel frees it (and the links inside) once nothing holds it any more,
    /// 60-90 ms later; deleting one that does not exist is not an error. Files published for `ip netns exec`
    /// under /etc/netns/<name> go with it.
    public func delete() throws {
        if kl_umount_detach(path) != 0 && errno != ENOENT && errno != EINVAL {
            throw SystemError("umount \(path)")
        }
        if unlink(path) != 0 && errno != ENOENT { throw SystemError("unlink \(path)") }
        try? FileManager.default.removeItem(atPath: etcDirectory)
    }

    /// Where `ip netns exec` looks for files to show in place of /etc's (iproute2's convention).
    public var etcDirectory: String { "/etc/netns/\(name)" }

    public var exists: Bool { access(path, F_OK) == 0 }

    /// Names under /run/netns that start with `prefix`, sorted.
    public static func list(prefix: String) -> [NetNamespace] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted().map(NetNamespace.init)
    }

    /// Pids of every process whose network namespace is this one (what must stop before it goes).
    public func processes() -> [pid_t] {
        NetNamespace.processes(in: [self])
    }

    /// Pids of every process inside any of `namespaces`, found by the namespaces' inodes in /proc.
    public static func processes(in namespaces: [NetNamespace]) -> [pid_t] {
        var inodes = Set<UInt64>()
        for namespace in namespaces {
            var info = stat()
            if stat(namespace.path, &info) == 0 { inodes.insert(UInt64(info.st_ino)) }
        }
        guard !inodes.isEmpty else { return [] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid() else { return nil }
            var info = stat()
            guard stat("/proc/\(entry)/ns/net", &info) == 0, inodes.contains(UInt64(info.st_ino)) else { return nil }
            return pid
        }
    }

    /// Runs `body` inside this namespace on the namespace thread, with a netlink socket bound to it.
    public func run<T>(_ body: (RouteSocket) throws -> T) throws -> T {
        try NamespaceThread.shared.run(in: self) { try body(try RouteSocket()) }
    }

    /// As `run`, for async callers.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (RouteSocket) throws -> T) async throws -> T {
        try await NamespaceThread.shared.perform(in: self) { try body(try RouteSocket()) }
    }

    /// /run/netns must be a shared mount point so pins made here are seen by other mount namespaces
    /// (`ip netns exec` makes one per call). Same steps as iproute2's netns_add.
    static func prepareRunDirectory() throws {
        if mkdir(runDirectory, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(runDirectory)") }
        if kl_make_shared(runDirectory) == 0 { return }
        guard errno == EINVAL else { throw SystemError("make \(runDirectory) shared") }
        try syscall("bind-mount \(runDirectory)") { kl_bind_mount(runDirectory, runDirectory) }
        try syscall("make \(runDirectory) shared") { kl_make_shared(runDirectory) }
    }
}

/// Per-namespace kernel settings under /proc/sys. Writes go to the calling thread's namespace,
/// so call these only inside a namespace job.
public enum Sysctl {
    public static func set(_ key: String, _ value: String) throws {
        let path = "/proc/sys/" + key.replacingOccurrences(of: ".", with: "/")
        let fd = try syscall("open \(path)") { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let written = value.withCString { write(fd, $0, strlen($0)) }
        if written < 0 { throw SystemError("write \(path)") }
    }
}
