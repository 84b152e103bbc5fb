import Foundation
import GRDB
import StorageCore
@testable import StorageSQLite
import Testing

extension Image {
    static func make(owner: Int64?, visibility: Visibility = .private, style: String = "hayao",
                     created: Date = Date(), expires: Date? = nil) -> Image {
        Image(id: Image.newID(), ownerID: owner, visibility: visibility, style: style, strength: 100,
              inputWidth: 640, inputHeight: 480, width: 640, height: 480, modelSHA256: String(repeating: "ab", count: 32),
              durationMS: 1234, original: Data([1, 2, 3]), originalType: "image/jpeg", result: Data([4, 5]),
              thumbnail: Data([6]), createdAt: created, expiresAt: expires)
    }
}

@Suite("Image store")
struct ImageStoreTests {
    func setUp(_ backend: Backend) throws -> (TestDatabase, any ImageStore, Int64, Int64) {
        let db = try TestDatabase(backend)
        let a = try db.stores.users.create(username: "chihiro", passwordHash: hashA).id!
        let b = try db.stores.users.create(username: "haku", passwordHash: hashA).id!
        return (db, db.stores.images, a, b)
    }

    @Test("ids are unguessable; a private image is invisible to everyone but its owner", arguments: Backend.available)
    func visibility(_ backend: Backend) throws {
        let (db, images, a, b) = try setUp(backend)
        defer { db.close() }
        let mine = Image.make(owner: a)
        try images.insert(mine)
        #expect(mine.id.count == 22 && Set((0..<100).map { _ in Image.newID() }).count == 100)
        #expect(try images.find(id: mine.id, viewer: a)?.result == Data([4, 5]))
        #expect(try images.find(id: mine.id, viewer: b) == nil)
        #expect(try images.find(id: mine.id, viewer: nil) == nil)
        let anonymous = Image.make(owner: nil, visibility: .anonymous, expires: Date().addingTimeInterval(3600))
        try images.insert(anonymous)
        #expect(try images.find(id: anonymous.id, viewer: nil) != nil)
        #expect(try images.list(owner: a, page: 1).items.map(\.id) == [mine.id])
        #expect(try images.listPublic(order: .newest, page: 1).items.isEmpty) // anonymous and private are listed nowhere
    }

    @Test("share, list publicly in three orders, like once per member, unshare", arguments: Backend.available)
    func sharingAndLikes(_ backend: Backend) throws {
        let (db, images, a, b) = try setUp(backend)
        defer { db.close() }
        let t = Date()
        let old = Image.make(owner: a, style: "shinkai", created: t.addingTimeInterval(-100))
        let new = Image.make(owner: b, style: "hayao", created: t)
        try images.insert(old)
        try images.insert(new)
        #expect(try images.setShared(true, id: old.id, owner: a) && images.setShared(true, id: new.id, owner: b))
        #expect(try !images.setShared(false, id: old.id, owner: b)) // not b's to unshare
        #expect(try images.listPublic(order: .newest, page: 1).items.map(\.id) == [new.id, old.id])
        #expect(try images.listPublic(order: .style, page: 1).items.map(\.id) == [new.id, old.id])
        #expect(try images.setLiked(true, id: old.id, user: a) == 1)
        #expect(try images.setLiked(true, id: old.id, user: a) == 1) // once per member
        #expect(try images.setLiked(true, id: old.id, user: b) == 2)
        #expect(try images.listPublic(order: .likes, page: 1).items.first?.id == old.id)
        #expect(try images.listPublic(order: .likes, page: 1).items.first?.ownerName == "chihiro")
        #expect(try images.setLiked(false, id: old.id, user: a) == 1)
        #expect(try images.setShared(false, id: old.id, owner: a))
        #expect(try images.listPublic(order: .newest, page: 1).items.map(\.id) == [new.id])
        #expect(try images.setLiked(true, id: old.id, user: b) == nil) // private again: cannot be liked
        #expect(try images.listPublic(order: .newest, page: 2).items.isEmpty)
    }

    @Test("only the owner deletes; deleting the account deletes its images and their likes", arguments: Backend.available)
    func deletion(_ backend: Backend) throws {
        let (db, images, a, b) = try setUp(backend)
        defer { db.close() }
        let mine = Image.make(owner: a, visibility: .public), theirs = Image.make(owner: b, visibility: .public)
        try images.insert(mine)
        try images.insert(theirs)
        _ = try images.setLiked(true, id: theirs.id, user: a)
        #expect(try !images.delete(id: mine.id, owner: b))
        try db.stores.users.delete(id: a)
        #expect(try images.find(id: mine.id, viewer: nil) == nil)
        #expect(try images.find(id: theirs.id, viewer: nil)?.likeCount == 0) // the like went with the account
        #expect(try db.count("image_like") == 0)
        #expect(try images.delete(id: theirs.id, owner: b))
        #expect(try images.find(id: theirs.id, viewer: b) == nil)
    }

    @Test("anonymous results expire; the schema refuses inconsistent rows", arguments: Backend.available)
    func expiryAndConstraints(_ backend: Backend) throws {
        let (db, images, a, _) = try setUp(backend)
        defer { db.close() }
        try images.insert(Image.make(owner: nil, visibility: .anonymous, expires: Date().addingTimeInterval(-1)))
        try images.insert(Image.make(owner: nil, visibility: .anonymous, expires: Date().addingTimeInterval(60)))
        #expect(try images.purgeExpired() == 1)
        for bad in [Image.make(owner: nil, visibility: .anonymous), Image.make(owner: a, visibility: .anonymous, expires: Date()),
                    Image.make(owner: nil), Image.make(owner: a, style: "pixar")] {
            #expect(throws: (any Error).self) { try images.insert(bad) }
        }
        var strong = Image.make(owner: a)
        strong.strength = 101
        #expect(throws: (any Error).self) { try images.insert(strong) }
    }

    @Test("metadata and single parts without the other bytes; expired results vanish before the purge", arguments: Backend.available)
    func detailsAndBytes(_ backend: Backend) throws {
        let (db, images, a, b) = try setUp(backend)
        defer { db.close() }
        var mine = Image.make(owner: a)
        mine.title = "harbour"
        try images.insert(mine)
        let details = try #require(try images.details(id: mine.id, viewer: a))
        #expect(details.ownerName == "chihiro" && details.title == "harbour" && details.originalBytes == 3 && details.resultBytes == 2)
        #expect(try images.details(id: mine.id, viewer: b) == nil && images.bytes(.result, id: mine.id, viewer: b) == nil)
        #expect(try images.bytes(.thumbnail, id: mine.id, viewer: a)?.data == Data([6]))
        #expect(try images.bytes(.original, id: mine.id, viewer: a)?.originalType == "image/jpeg")

        let expired = Image.make(owner: nil, visibility: .anonymous, expires: Date().addingTimeInterval(-1))
        try images.insert(expired)
        #expect(try images.details(id: expired.id, viewer: nil) == nil && images.find(id: expired.id, viewer: nil) == nil)
        #expect(try images.bytes(.result, id: expired.id, viewer: nil) == nil)
        #expect(try images.purgeExpired() == 1)
        #expect(try images.bytes(.thumbnail, id: mine.id, viewer: a) != nil) // the purge took only the expired one's bytes
    }

    @Test("a clip keeps its medium, poster and animation; a picture has neither part", arguments: Backend.available)
    func clips(_ backend: Backend) throws {
        let (db, images, a, _) = try setUp(backend)
        defer { db.close() }
        var clip = Image.make(owner: a)
        clip.media = .gif
        clip.originalType = "image/gif"
        clip.poster = Data([8, 8, 8])
        clip.animation = Data([9, 9])
        let picture = Image.make(owner: a)
        try images.insertAll([clip, picture])
        let found = try #require(try images.find(id: clip.id, viewer: a))
        #expect(found.media == .gif && found.poster == clip.poster && found.animation == clip.animation)
        #expect(found.originalType == "image/gif" && found.result == clip.result && found.original == clip.original)
        #expect(try images.details(id: clip.id, viewer: a)?.media == .gif)
        #expect(try images.bytes(.poster, id: clip.id, viewer: a)?.data == clip.poster)
        #expect(try images.bytes(.animation, id: clip.id, viewer: a)?.data == clip.animation)
        #expect(try images.details(id: picture.id, viewer: a)?.media == .image)
        #expect(try images.bytes(.poster, id: picture.id, viewer: a) == nil)
        // The medium and the original's type agree, or the row is refused.
        var video = Image.make(owner: a)
        video.media = .video
        #expect(throws: (any Error).self) { try images.insert(video) }
        video.originalType = "video/webm"
        try images.insert(video)
        var picture2 = Image.make(owner: a)
        picture2.originalType = "video/mp4"
        #expect(throws: (any Error).self) { try images.insert(picture2) }
    }

    @Test("pages of 24 say whether another follows; likes are reported per member", arguments: Backend.available)
    func paginationAndLikedMarks(_ backend: Backend) throws {
        let (db, images, a, b) = try setUp(backend)
        defer { db.close() }
        let t = Date()
        let all = (0..<25).map { Image.make(owner: a, visibility: .public, created: t.addingTimeInterval(Double(-$0))) }
        try images.insertAll(all)
        let first = try images.list(owner: a, page: 1), second = try images.list(owner: a, page: 2)
        #expect(first.items.count == 24 && first.hasMore && second.items.map(\.id) == [all[24].id] && !second.hasMore)
        #expect(try images.list(owner: b, page: 1).items.isEmpty)
        _ = try images.setLiked(true, id: all[3].id, user: b)
        #expect(try images.liked(by: b, among: all.map(\.id)) == [all[3].id])
        #expect(try images.liked(by: a, among: all.map(\.id)).isEmpty)
    }

    @Test("SQLite: a database with v2 images keeps them: the bytes move to image_data")
    func migratesV2Images() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-db-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("artworker.sqlite").path
        do {
            let old = try DatabaseQueue(path: path)
            try AppDatabase.migrator.migrate(old, upTo: "v2: images")
            try old.write { db in
                try db.execute(sql: """
                    INSERT INTO image (id, owner_id, visibility, style, strength, input_width, input_height, width, height,
                                       model_sha256, duration_ms, original, original_type, result, thumbnail, created_at, expires_at)
                    VALUES ('AAAAAAAAAAAAAAAAAAAAAA', NULL, 'anonymous', 'hayao', 100, 4, 3, 4, 3, ?, 5, x'0102', 'image/png',
                            x'0304', x'05', ?, ?)
                    """, arguments: [String(repeating: "c", count: 64), Date(), Date().addingTimeInterval(3600)])
            }
        }
        let images = SQLiteImageStore(database: try AppDatabase(path: path))
        let image = try #require(try images.find(id: "AAAAAAAAAAAAAAAAAAAAAA", viewer: nil))
        #expect(image.original == Data([1, 2]) && image.result == Data([3, 4]) && image.thumbnail == Data([5]) && image.title == "")
        #expect(try images.details(id: image.id, viewer: nil)?.resultBytes == 2)
    }
}
