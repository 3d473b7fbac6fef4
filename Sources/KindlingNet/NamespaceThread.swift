import CLinuxShim
import Foundation

/// An OS thread of its own for namespace work: the only kind of thread that ever changes network namespace.
///
/// setns() moves only the calling thread, and threads spawned from a moved thread inherit its namespace,
/// so no pool or executor thread may ever enter a pod's namespace (KERNEL-NOTES.md). Every job here enters its
/// target, makes synchronous calls only, and returns home before the next job runs. `shared` does links,
/// routes and pods; a library that must always be called from one thread (libnftables) gets its own.
public final class NamespaceThread: @unchecked Sendable {
    public static let shared = NamespaceThread(name: "kindling-netns")

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var homeFD: Int32 = -1
    private var threadID: pid_t = 0

    public init(name: String) {
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [unowned self] in
            self.threadID = kl_gettid()
            // The namespace this process lives in: a node's for an agent, the root one for the CLI and server.
            self.homeFD = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
            precondition(self.homeFD >= 0, "cannot open own network namespace: \(SystemError("open"))")
            started.signal()
            self.loop()
        }
        thread.name = name
        thread.start()
        started.wait()
    }

    private func loop() -> Never {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    private func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` inside `namespace` (nil: this process's own namespace) and waits for it.
    /// `body` must not block on anything but the kernel and must not start threads or tasks.
    public func run<T>(in namespace: NetNamespace?, _ body: () throws -> T) throws -> T {
        precondition(kl_gettid() != threadID, "NamespaceThread.run called from its own job")
        return try withoutActuallyEscaping(body) { body in
            let box = JobBox(body)
            let done = DispatchSemaphore(value: 0)
            enqueue { [homeFD] in
                box.result = Result { try Self.perform(in: namespace, home: homeFD, box.body!) }
                // Drop the borrowed closure before the caller resumes: it must not outlive `run`.
                box.body = nil
                done.signal()
            }
            done.wait()
            return try box.result!.get()
        }
    }

    /// Same as `run`, for async callers: the caller's task is suspended, never a pool thread parked.
    public func perform<T: Sendable>(in namespace: NetNamespace?, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue { [homeFD] in
                continuation.resume(with: Result { try Self.perform(in: namespace, home: homeFD, body) })
            }
        }
    }

    private static func perform<T>(in namespace: NetNamespace?, home: Int32, _ body: () throws -> T) throws -> T {
        guard let namespace else { return try body() }
        let fd = try syscall("open \(namespace.path)") { open(namespace.path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        try syscall("setns \(namespace.name)") { kl_setns_net(fd) }
        defer {
            // A thread stranded in a foreign namespace would poison every later job: stop rather than go on.
            if kl_setns_net(home) != 0 { fatalError("cannot return to home network namespace: \(SystemError("setns"))") }
        }
        return try body()
    }

    /// Makes a new network namespace and pins it at `/run/netns/<name>` as `ip netns add` does.
    /// The job starts in the home namespace, unshares into a fresh one, pins it, and goes home.
    func createNamespace(_ namespace: NetNamespace, setup: () throws -> Void) throws {
        try run(in: nil) {
            try NetNamespace.prepareRunDirectory()
            let fd = try syscall("create \(namespace.path)") {
                open(namespace.path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
            }
            close(fd)
            do {
                try syscall("unshare(CLONE_NEWNET)") { kl_unshare_netns() }
                defer {
                    if kl_setns_net(homeFD) != 0 { fatalError("cannot return to home network namespace: \(SystemError("setns"))") }
                }
                try syscall("bind-mount netns \(namespace.name)") {
                    kl_bind_mount("/proc/thread-self/ns/net", namespace.path)
                }
                try setup()
            } catch {
                _ = kl_umount_detach(namespace.path)
                unlink(namespace.path)
                throw error
            }
        }
    }
}

/// Carries a non-escaping closure and its result across to the namespace thread; `run` waits for both.
private final class JobBox<T>: @unchecked Sendable {
    var body: (() throws -> T)?
    var result: Result<T, Error>?
    init(_ body: @escaping () throws -> T) { self.body = body }
}
