import Foundation

/// Step-by-step output in `kind create cluster`'s shape: ` ✓ Preparing nodes 📦 📦 📦`.
public struct StepReporter: Sendable {
    let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    public static let standardError = StepReporter { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    public static let silent = StepReporter { _ in }

    public func say(_ line: String) { write(line) }

    /// Runs one step and reports how it ended; the error passes through unchanged.
    public func step<T>(_ title: String, _ body: () throws -> T) throws -> T {
        do {
            let result = try body()
            write(" ✓ \(title)")
            return result
        } catch {
            write(" ✗ \(title)")
            throw error
        }
    }
}
