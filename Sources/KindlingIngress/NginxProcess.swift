import Foundation

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
    private var started: Process?
    private var process: Process? {
        get { lock.withLock { started } }
        set { lock.withLock { started = newValue } }
    }

    public init(binary: String = "/usr/sbin/nginx", configPath: String) {
        self.binary = binary
        self.configPath = configPath
    }

    /// Writes `text` as the configuration, tested first; starts nginx the first time, reloads it afterwards.
    public func apply(_ text: String) throws {
        let candidate = configPath + ".new"
        try text.write(toFile: candidate, atomically: true, encoding: .utf8)
        try Self.run([binary, "-t", "-q", "-c", candidate])
        guard rename(candidate, configPath) == 0 else { throw Failure(description: "rename \(candidate): \(String(cString: strerror(errno)))") }
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGHUP)
            return
        }
        let master = Process()
        master.executableURL = URL(fileURLWithPath: binary)
        master.arguments = ["-c", configPath]
        try master.run()
        process = master
    }

    /// Waits until nginx's master exits (it should not): its status.
    public func wait() async -> Int32 {
        guard let process else { return -1 }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(200)) }
        return process.terminationStatus
    }

    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGQUIT)
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
        if let input { stdin.fileHandleForWriting.write(input) }
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
        try NginxProcess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-keyout", key, "-out", cert,
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
