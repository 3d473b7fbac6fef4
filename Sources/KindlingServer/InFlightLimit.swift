import Foundation
import Synchronization

/// kube-apiserver's max-in-flight filter: at most `readOnly` reads and `mutating` writes are handled at once;
/// one more is refused at once with 429 and `Retry-After: 1` (which clients wait out and retry) instead of
/// queueing without bound. Long-running requests (watches, exec, attach, logs, port-forward, proxy) hold no
/// place, as upstream's long-running check exempts them.
public final class InFlightLimit: Sendable {
    public enum Kind: Equatable, Sendable { case longRunning, readOnly, mutating }

    /// kube-apiserver's defaults: `--max-requests-inflight` and `--max-mutating-requests-inflight`.
    public static let defaultReadOnly = 400
    public static let defaultMutating = 200

    /// kube-apiserver's body for a refused request (plain text, as its filter writes it with http.Error).
    public static let refusal = "Too many requests, please try again later.\n"

    let readOnly: Int
    let mutating: Int
    private let inFlight = Mutex((readOnly: 0, mutating: 0))

    /// A limit of 0 means none, as for kube-apiserver's flags.
    public init(readOnly: Int = InFlightLimit.defaultReadOnly, mutating: Int = InFlightLimit.defaultMutating) {
        self.readOnly = readOnly
        self.mutating = mutating
    }

    /// kube-apiserver's two flags, as variables in the environment of `create cluster` (the server is started
    /// by the supervisor, not by hand).
    public static let readOnlyVariable = "KINDLING_MAX_REQUESTS_INFLIGHT"
    public static let mutatingVariable = "KINDLING_MAX_MUTATING_REQUESTS_INFLIGHT"

    public convenience init(environment: [String: String]) {
        self.init(readOnly: environment[Self.readOnlyVariable].flatMap(Int.init).map { max(0, $0) } ?? Self.defaultReadOnly,
                  mutating: environment[Self.mutatingVariable].flatMap(Int.init).map { max(0, $0) } ?? Self.defaultMutating)
    }

    /// Which limit a request counts against, as kube-apiserver's request info and long-running check decide. Pure.
    public static func kind(method: String, path: String, query: [String: String]) -> Kind {
        kind(method: method, labels: RequestMetrics.labels(method: method, path: path, query: query))
    }

    /// The same, from the request's metric labels (its verb, and resource with subresource).
    static func kind(method: String, labels: (verb: String, resource: String)) -> Kind {
        let (verb, resource) = labels
        let subresource = resource.split(separator: "/").dropFirst().first
        if verb == "WATCH" || subresource.map(longRunningSubresources.contains) == true { return .longRunning }
        return ["GET", "HEAD", "OPTIONS"].contains(method) ? .readOnly : .mutating
    }

    static let longRunningSubresources: Set<Substring> = ["attach", "exec", "log", "portforward", "proxy"]

    /// Takes a place for a request of `kind`; false when its limit is reached (answer 429). A true answer for a
    /// read or write must be given back with `release`.
    public func acquire(_ kind: Kind) -> Bool {
        inFlight.withLock { counts in
            switch kind {
            case .longRunning:
                return true
            case .readOnly:
                guard readOnly == 0 || counts.readOnly < readOnly else { return false }
                counts.readOnly += 1
            case .mutating:
                guard mutating == 0 || counts.mutating < mutating else { return false }
                counts.mutating += 1
            }
            return true
        }
    }

    public func release(_ kind: Kind) {
        inFlight.withLock { counts in
            switch kind {
            case .longRunning: break
            case .readOnly: counts.readOnly -= 1
            case .mutating: counts.mutating -= 1
            }
        }
    }

    /// Requests holding a place now.
    public var current: (readOnly: Int, mutating: Int) { inFlight.withLock { $0 } }
}
