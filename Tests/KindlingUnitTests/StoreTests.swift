import Foundation
import KindlingStore
import Testing

@Suite struct StoreTests {
    let key = ObjectKey(resource: "pods", namespace: "dev", name: "a")

    func body(_ rev: Int64) -> Data { Data("{\"rv\":\(rev)}".utf8) }

    @Test func writesGetOneRevisionSequence() throws {
        let store = try Store(path: nil)
        let created = try store.create(key) { body($0) }
        #expect(created.revision == 1)
        #expect(throws: StoreError.alreadyExists(key)) { try store.create(key) { body($0) } }
        let other = try store.create(ObjectKey(resource: "pods", namespace: "other", name: "a")) { body($0) }
        #expect(other.revision == 2)
        let updated = try store.update(key, expected: 1) { rev, _ in body(rev) }
        #expect(updated.revision == 3)
        #expect(throws: StoreError.conflict(key, stored: 3)) { try store.update(key, expected: 1) { rev, _ in body(rev) } }
        #expect(store.list("pods", namespace: "dev").objects.map(\.revision) == [3])
        #expect(store.list("pods").objects.count == 2)
        try store.delete(key) { rev, _ in body(rev) }
        #expect(store.get(key) == nil)
        #expect(store.currentRevision == 4)
        #expect(throws: StoreError.notFound(key)) { try store.delete(key) { rev, _ in body(rev) } }
    }

    @Test func watchStartsWithCurrentObjectsOrResumes() async throws {
        let store = try Store(path: nil)
        try store.create(key) { body($0) }
        var fresh = try store.watch("pods", from: nil).makeAsyncIterator()
        #expect(await fresh.next()?.kind == .added)
        try store.update(key) { rev, _ in body(rev) }
        let modified = await fresh.next()
        #expect(modified?.kind == .modified && modified?.object.revision == 2)

        var resumed = try store.watch("pods", namespace: "dev", from: 1).makeAsyncIterator()
        #expect(await resumed.next()?.object.revision == 2)
        try store.delete(key) { rev, _ in body(rev) }
        let deleted = await resumed.next()
        #expect(deleted?.kind == .deleted && deleted?.object.revision == 3)
    }

    @Test func resumingBeyondHistoryIsExpired() throws {
        let store = try Store(path: nil, historyLimit: 10)
        for i in 0..<30 { try store.create(ObjectKey(resource: "pods", namespace: "dev", name: "p\(i)")) { body($0) } }
        #expect(throws: StoreError.self) { _ = try store.watch("pods", from: 1) }
        _ = try store.watch("pods", from: store.currentRevision - 5)
    }

    @Test func survivesReopening() throws {
        let path = NSTemporaryDirectory() + "kindling-store-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let store = try Store(path: path)
            try store.create(key) { body($0) }
            try store.update(key) { rev, _ in body(rev) }
            try store.create(ObjectKey(resource: "nodes", namespace: "", name: "n")) { body($0) }
            try store.delete(ObjectKey(resource: "nodes", namespace: "", name: "n")) { rev, _ in body(rev) }
        }
        let reopened = try Store(path: path)
        #expect(reopened.currentRevision == 4)
        #expect(reopened.get(key)?.data == body(2))
        #expect(reopened.list("nodes").objects.isEmpty)
        // History survives too: a watcher from before the restart resumes.
        _ = try reopened.watch("pods", from: 1)
    }
}
