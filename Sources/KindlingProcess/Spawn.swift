import CLinuxShim
import Foundation
import KindlingNet

/// Starting processes the way kindling's daemons and pods need them started (see `kl_spawn`).
public enum Spawn {
    /// New mount and UTS namespaces for a pod: its hostname and the files bind-mounted into its view.
    public struct Sandbox: Sendable {
        public var hostname: String
        /// (source on this machine, target path inside the pod), e.g. the pod's html directory onto
        /// /usr/share/nginx/html.
        public var binds: [(source: String, target: String)]
        /// Targets of `binds` mounted read-only (Secret and ConfigMap volumes).
        public var readOnly: Set<String>
        /// Overlay file systems mounted first, (target, "lowerdir=...,upperdir=...,workdir=..."): the sandbox's own
        /// writable view of a directory of this machine, where mount points for `binds` can be made.
        public var overlays: [(target: String, options: String)]
        /// Directories made after the overlays (mount points inside them).
        public var directories: [String]

        public init(hostname: String, binds: [(source: String, target: String)] = [], readOnly: Set<String> = [],
                    overlays: [(target: String, options: String)] = [], directories: [String] = []) {
            self.hostname = hostname
            self.binds = binds
            self.readOnly = readOnly
            self.overlays = overlays
            self.directories = directories
        }
    }

    public struct Options: Sendable {
        /// The network namespace to run in; nil: the caller's.
        public var namespace: NetNamespace?
        /// Make a new sandbox (mount + UTS namespaces) for the process.
        public var sandbox: Sandbox?
        /// Join the mount and UTS namespaces of this process (a pod's sandbox process).
        public var joinSandboxOf: pid_t?
        /// Where stdout and stderr go (appended); nil: inherited.
        public var logPath: String?
        /// Keep the caller's stdin, stdout, stderr and session (an interactive command).
        public var keepStdio: Bool
        public var workingDirectory: String?
        public var environment: [String: String]?
        /// The process's stdin (a container's stdin pipe or terminal); nil: /dev/null, or kept with keepStdio.
        public var stdin: Int32?
        /// Where stdout and stderr go instead of a log file (a container's terminal).
        public var output: Int32?
        /// Where stderr goes instead, when it is a stream of its own (an exec without a terminal).
        public var errors: Int32?
        /// Make stdin, a terminal, the controlling terminal of a new session.
        public var terminal: Bool
        /// The name the program is run as (`argv[0]`) when not its path: `cat`, as a container's command names it.
        public var argv0: String?

        public init(namespace: NetNamespace? = nil, sandbox: Sandbox? = nil, joinSandboxOf: pid_t? = nil,
                    logPath: String? = nil, keepStdio: Bool = false, workingDirectory: String? = nil,
                    environment: [String: String]? = nil, stdin: Int32? = nil, output: Int32? = nil, errors: Int32? = nil,
                    terminal: Bool = false) {
            self.stdin = stdin
            self.output = output
            self.errors = errors
            self.terminal = terminal
            self.namespace = namespace
            self.sandbox = sandbox
            self.joinSandboxOf = joinSandboxOf
            self.logPath = logPath
            self.keepStdio = keepStdio
            self.workingDirectory = workingDirectory
            self.environment = environment
        }
    }

    /// Starts `arguments[0]` (an absolute path) and returns its pid.
    public static func start(_ arguments: [String], options: Options = Options()) throws -> pid_t {
        precondition(!arguments.isEmpty && arguments[0].hasPrefix("/"), "spawn needs an absolute path")
        var nsFD: Int32 = -1
        if let namespace = options.namespace {
            nsFD = try syscall("open \(namespace.path)") { open(namespace.path, O_RDONLY | O_CLOEXEC) }
        }
        defer { if nsFD >= 0 { close(nsFD) } }
        var logFD: Int32 = -1
        if let logPath = options.logPath {
            logFD = try syscall("open \(logPath)") { open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) }
        }
        defer { if logFD >= 0 && logFD != options.output { close(logFD) } }
        if let output = options.output { logFD = output }
        let environment = options.environment ?? ProcessInfo.processInfo.environment
        let argv = ([options.argv0 ?? arguments[0]] + arguments.dropFirst()).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let sandbox = options.sandbox
        let binds = sandbox?.binds ?? []
        let cStrings = { (strings: [String]) in strings.map { UnsafePointer(strdup($0)) } + [nil] }
        let sources = cStrings(binds.map(\.source)), targets = cStrings(binds.map(\.target))
        let readOnly: [Int32] = binds.map { sandbox?.readOnly.contains($0.target) == true ? 1 : 0 } + [0]
        let overlayTargets = cStrings(sandbox?.overlays.map(\.target) ?? []), overlayOptions = cStrings(sandbox?.overlays.map(\.options) ?? [])
        let directories = cStrings(sandbox?.directories ?? [])
        let hostname = sandbox.map { strdup($0.hostname) } ?? nil
        let directory = options.workingDirectory.map { strdup($0) } ?? nil
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
            for list in [sources, targets, overlayTargets, overlayOptions, directories] { list.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
            free(hostname)
            free(directory)
        }
        var opts = kl_spawn_opts()
        opts.netns_fd = nsFD
        opts.join_pid = options.joinSandboxOf ?? 0
        opts.new_sandbox = sandbox == nil ? 0 : 1
        opts.hostname = UnsafePointer(hostname)
        opts.bind_count = Int32(binds.count)
        opts.overlay_count = Int32(sandbox?.overlays.count ?? 0)
        opts.mkdir_count = Int32(sandbox?.directories.count ?? 0)
        opts.log_fd = logFD
        opts.keep_stdio = options.keepStdio ? 1 : 0
        opts.dir = UnsafePointer(directory)
        opts.stdin_fd = options.stdin ?? -1
        opts.terminal = options.terminal ? 1 : 0
        opts.err_fd = options.errors ?? -1
        let pid = sources.withUnsafeBufferPointer { sourceBuffer in
            targets.withUnsafeBufferPointer { targetBuffer in
                readOnly.withUnsafeBufferPointer { readOnlyBuffer in
                    overlayTargets.withUnsafeBufferPointer { overlayTargetBuffer in
                        overlayOptions.withUnsafeBufferPointer { overlayOptionBuffer in
                            directories.withUnsafeBufferPointer { directoryBuffer in
                                opts.bind_sources = sourceBuffer.baseAddress
                                opts.bind_targets = targetBuffer.baseAddress
                                opts.bind_readonly = readOnlyBuffer.baseAddress
                                opts.overlay_targets = overlayTargetBuffer.baseAddress
                                opts.overlay_options = overlayOptionBuffer.baseAddress
                                opts.mkdir_paths = directoryBuffer.baseAddress
                                return kl_spawn(arguments[0], argv, envp, &opts)
                            }
                        }
                    }
                }
            }
        }
        if pid < 0 { throw SystemError("start \(arguments[0])") }
        return pid
    }

    /// A new pseudo-terminal: (primary end, kept by whoever relays it; replica end, the process's stdio).
    public static func openTerminal() throws -> (primary: Int32, replica: Int32) {
        var primary: Int32 = -1, replica: Int32 = -1
        _ = try syscall("open a pseudo-terminal") { kl_openpty(&primary, &replica) }
        return (primary, replica)
    }

    /// A new pipe, both ends close-on-exec: (read end, write end).
    public static func openPipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try syscall("pipe") { pipe(&fds) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// Sets a terminal's window size (kubectl's resize messages).
    public static func setWindowSize(_ fd: Int32, columns: UInt16, rows: UInt16) {
        _ = kl_set_window_size(fd, columns, rows)
    }

    /// Whether `pid` has exited; reaps it if so (only for children of this process).
    public static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid ? status : nil
    }

    /// A pidfd for `pid` (any process, child or not): it stays that process's even once the pid is reused, and
    /// polls readable when the process has ended. -1 when it is gone already.
    public static func pidfd(_ pid: pid_t) -> Int32 { kl_pidfd_open(pid) }

    /// Waits for a child to exit and returns its exit status (128+signal when killed), as a shell reports it.
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return exitCode(status)
    }

    public static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Resolves a command name through PATH as a shell does; an absolute or relative path is kept.
    public static func resolve(_ command: String,
                               path: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        -> String? {
        if command.contains("/") { return command }
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
