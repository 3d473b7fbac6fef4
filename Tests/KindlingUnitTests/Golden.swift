import Foundation
import Testing

/// Golden files: a renderer's whole output, kept in `Golden/` and compared byte for byte, so a change in any
/// rule shows in review as a diff of the file.
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Compares `text` with `Golden/<name>`. With KINDLING_UPDATE_GOLDEN=1 the file is rewritten instead and
    /// the test fails all the same, so a run that re-records can never pass: the next run, without the
    /// variable, checks what was written.
    static func expect(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["KINDLING_UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
            Issue.record("re-recorded Golden/\(name): review its diff, then run again without KINDLING_UPDATE_GOLDEN", sourceLocation: sourceLocation)
            return
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(text == golden, "differs from Golden/\(name); KINDLING_UPDATE_GOLDEN=1 rewrites it after a deliberate change",
                sourceLocation: sourceLocation)
    }
}
