import Foundation
import KindlingNet
import KindlingProcess

/// Tells whether any of a set of processes has ended with one poll(2) over their pidfds, instead of a read of
/// /proc/<pid>/stat per process: the agent asks about every container of every pod ten times a second.
/// A pidfd names exactly one process, so a pid reused later is never taken for it; each is checked against
/// the process's start time once, right after it is opened.
final class ExitWatch {
    private var descriptors: [ProcessRef: Int32] = [:]

    deinit { for fd in descriptors.values { close(fd) } }

    /// Whether any of `processes` has ended (or could not be watched). Watches new ones and forgets those no
    /// longer asked about.
    func anyEnded(_ processes: Set<ProcessRef>) -> Bool {
        for (process, fd) in descriptors where !processes.contains(process) {
            close(fd)
            descriptors[process] = nil
        }
        var ended = false
        for process in processes where descriptors[process] == nil {
            let fd = Spawn.pidfd(process.pid)
            guard fd >= 0 else { ended = true; continue }
            // Opened first, then checked: had the pid been reused before the open, the start time differs now.
            guard process.isAlive else {
                close(fd)
                ended = true
                continue
            }
            descriptors[process] = fd
        }
        if ended { return true }
        var polled = descriptors.values.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard !polled.isEmpty else { return false }
        // Readable: ended. An error is answered as an ending too, so a pass looks for itself.
        return poll(&polled, nfds_t(polled.count), 0) != 0
    }

    var watched: Int { descriptors.count }
}
