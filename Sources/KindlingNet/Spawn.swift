import CLinuxShim
import Foundation

/// Starting processes the way kindling's daemons and pods need them started (see `kl_spawn`).
public enum Spawn {
    public struct Options: Sendable {
        /// The network namespace to run in; nil: the caller's.
        public var namespace: NetNamespace?
        /// Where stdout and stderr go (appended); nil: inherited.
        public var logPath: String?
        public var workingDirectory: String?
        public var environment: [String: String]?

        public init(namespace: NetNamespace? = nil, logPath: String? = nil, workingDirectory: String? = nil,
                    environment: [String: String]? = nil) {
            self.namespace = namespace
            self.logPath = logPath
            self.workingDirectory = workingDirectory
            self.environment = environment
        }
    }

    /// Starts `arguments[0]` (an absolute path) in a new session and returns its pid.
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
        defer { if logFD >= 0 { close(logFD) } }
        let environment = options.environment ?? ProcessInfo.processInfo.environment
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let pid = options.workingDirectory.map { dir in dir.withCString { kl_spawn(arguments[0], argv, envp, nsFD, logFD, $0) } }
            ?? kl_spawn(arguments[0], argv, envp, nsFD, logFD, nil)
        if pid < 0 { throw SystemError("start \(arguments[0])") }
        return pid
    }

    /// Whether `pid` has exited; reaps it if so (only for children of this process).
    public static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid ? status : nil
    }
}
