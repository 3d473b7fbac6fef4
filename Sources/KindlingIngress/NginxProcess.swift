import Foundation
import KindlingNet
import KindlingProcess

/// One nginx master run in the foreground as a child, given new configurations the way ingress-nginx does it:
/// the new text is tested first (`nginx -t`), then swapped in and the master told to reload (SIGHUP). The master
/// keeps its listening sockets across a reload, starts workers on the new configuration and lets the old ones
/// finish the requests they hold, so a reload drops nothing.
public final class NginxProcess: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let binary: String
    public let configPath: String
    private let lock = NSLock()
    private var masterPID: pid_t = 0
    /// The last text `nginx -t` refused and why: not tested again until something changes it.
    private var rejected: (text: String, failure: any Error)?

    public init(binary: String = "/usr/sbin/nginx", configPath: String) {
        self.binary = binary
        self.configPath = configPath
    }

    private var pid: pid_t {
        get { lock.withLock { masterPID } }
        set { lock.withLock { masterPID = newValue } }
    }

    /// Writes `text` as the configuration, tested first; starts nginx the first time, reloads it afterwards.
    public func apply(_ text: String) throws {
        if let rejected, rejected.text == text { throw rejected.failure }
        let candidate = configPath + ".new"
        try text.write(toFile: candidate, atomically: true, encoding: .utf8)
        do {
            try Self.run([binary, "-t", "-q", "-c", candidate])
        } catch {
            rejected = (text, error)
            unlink(candidate)
            throw error
        }
        rejected = nil
        guard rename(candidate, configPath) == 0 else { throw Failure(description: "rename \(candidate): \(String(cString: strerror(errno)))") }
        if pid > 0 {
            kill(pid, SIGHUP)
            return
        }
        // In this process's session and process group, with its output (Foundation's Process would give it a group
        // of its own): whatever stops the container's group stops nginx and its workers too.
        pid = try Spawn.start([binary, "-c", configPath], options: .init(keepStdio: true))
    }

    /// Waits until nginx's master exits (it should not): its exit status, or -1 when it never started.
    public func wait() async -> Int32 {
        guard pid > 0 else { return -1 }
        while true {
            if let status = Spawn.reap(pid) { return Spawn.exitCode(status) }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// A fast stop (SIGTERM), as a container runtime stops a container.
    public func stop() {
        if pid > 0 { kill(pid, SIGTERM) }
    }

    /// Runs a short command to its end; a non-zero exit is a failure carrying what it printed.
    @discardableResult
    public static func run(_ arguments: [String], input: Data? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        // A command that exits before reading all of its input is an error it reports, not a SIGPIPE here.
        if let input { try? stdin.fileHandleForWriting.write(contentsOf: input) }
        try? stdin.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(description: text.isEmpty ? "\(arguments[0]) exited with \(process.terminationStatus)" : text)
        }
        return printed
    }
}

/// Certificates with the openssl command: ingress-nginx's self-signed default, and whether a Secret's key and
/// certificate are a usable pair (nginx refuses the whole configuration otherwise).
public enum Certificates {
    public static let openssl = "/usr/bin/openssl"

    /// A self-signed key and certificate as one PEM, named as ingress-nginx names its fake certificate.
    public static func makeDefault(at path: String) throws {
        let key = path + ".key", cert = path + ".crt"
        defer { unlink(key); unlink(cert) }
        // An EC key: made in a millisecond where RSA takes a noticeable share of a busy core at every start.
        try NginxProcess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
                              "-keyout", key, "-out", cert,
                              "-subj", "/O=Acme Co/CN=Kubernetes Ingress Controller Fake Certificate"])
        var pem = try Data(contentsOf: URL(fileURLWithPath: key))
        pem.append(try Data(contentsOf: URL(fileURLWithPath: cert)))
        try write(pem, to: path)
    }

    /// Nil when the PEM holds a private key and a certificate whose public keys agree; otherwise why not.
    public static func problem(_ pem: Data) -> String? {
        guard let certificateKey = try? NginxProcess.run([openssl, "x509", "-noout", "-pubkey"], input: pem) else {
            return "tls.crt holds no PEM certificate"
        }
        guard let privateKey = try? NginxProcess.run([openssl, "pkey", "-pubout"], input: pem) else {
            return "tls.key holds no PEM private key"
        }
        return certificateKey == privateKey ? nil : "tls.key does not match the certificate in tls.crt"
    }

    /// Private keys are written readable by root only.
    public static func write(_ pem: Data, to path: String) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: pem, attributes: [.posixPermissions: 0o600]),
              rename(temporary, path) == 0 else { throw NginxProcess.Failure(description: "cannot write \(path)") }
    }
}
