import Foundation
@testable import Storage
import GRDB
import Testing

/// Rows in movie, scene and colour.
func rowCounts(_ database: AppDatabase) throws -> [Int] {
    try database.pool.read { db in
        try ["movie", "scene", "colour"].map { try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)")! }
    }
}

@Suite("Movie store")
struct MovieStoreTests {
    func setUp() throws -> (AppDatabase, URL, MovieStore, Int64, Int64) {
        let (database, dir) = try temporaryDatabase()
        let users = UserStore(database: database)
        let a = try users.create(username: "chihiro", passwordHash: hashA).id!
        let b = try users.create(username: "haku", passwordHash: hashA).id!
        return (database, dir, MovieStore(database: database), a, b)
    }

    func movie(owner: Int64, title: String = "Spirited Away", badColour: Bool = false) -> NewMovie {
        let scenes = [NewMovie.Scene(number: 1, flags: [], width: 1920, height: 1080, thumbnail: Data([1, 2, 3])),
                      NewMovie.Scene(number: 2, flags: ["fade"], width: 1920, height: 1080, thumbnail: nil)]
        var colours = (0..<18).map { i in
            MovieColour(scene: 1, tile: i / 3, rank: i % 3, r: Double(i * 10), g: 20, b: badColour && i == 17 ? 300 : 30, share: 1.0 / 3)
        }
        colours.append(MovieColour(scene: nil, tile: nil, rank: nil, r: 1.5, g: 2.5, b: 3.5, share: nil))
        return NewMovie(ownerID: owner, info: MovieInfo(title: title, year: 2001, director: "Miyazaki", notes: "Bathhouse"),
                        source: .frames, scenes: scenes, colours: colours, dominant: [StoredColour(r: 10, g: 20, b: 30, share: 1)])
    }

    @Test("a movie is stored whole, listed to everyone, read back in order")
    func roundTrip() throws {
        let (_, dir, movies, a, _) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = movie(owner: a)
        try movies.insert(m)
        let found = try #require(try movies.find(id: m.id))
        #expect(found.info == m.info && found.ownerName == "chihiro" && found.sceneCount == 2 && found.colourCount == 19)
        #expect(found.dominant == m.dominant)
        #expect(try movies.list(page: 1).items.map(\.id) == [m.id])
        let contents = try movies.contents(id: m.id)
        #expect(contents.scenes.map(\.number) == [1, 2] && contents.scenes[1].flags == ["fade"])
        #expect(contents.scenes.map(\.hasThumbnail) == [true, false])
        #expect(contents.colours == m.colours)
        #expect(try movies.thumbnail(movie: m.id, scene: 1) == Data([1, 2, 3]))
    }

    @Test("a bad colour stores nothing at all")
    func allOrNothing() throws {
        let (database, dir, movies, a, _) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: (any Error).self) { try movies.insert(movie(owner: a, badColour: true)) }
        #expect(try rowCounts(database) == [0, 0, 0])
    }

    @Test("only the owner edits or deletes; deleting takes scenes and colours; accounts take their movies")
    func ownership() throws {
        let (database, dir, movies, a, b) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = movie(owner: a), other = movie(owner: b, title: "Totoro")
        try movies.insert(m)
        try movies.insert(other)
        let edited = MovieInfo(title: "Sen to Chihiro", year: 2001, director: "Hayao Miyazaki", notes: "")
        #expect(try !movies.update(id: m.id, owner: b, info: edited))
        #expect(try movies.update(id: m.id, owner: a, info: edited))
        #expect(try movies.find(id: m.id)?.info == edited)
        #expect(try !movies.delete(id: m.id, owner: b))
        #expect(try movies.delete(id: m.id, owner: a))
        #expect(try movies.find(id: m.id) == nil)
        try UserStore(database: database).delete(id: b)
        #expect(try rowCounts(database) == [0, 0, 0])
    }

    @Test("a result's palette is kept until the image goes")
    func imagePalette() throws {
        let (database, dir, movies, a, _) = try setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = Image.make(owner: a)
        try ImageStore(database: database).insert(image)
        #expect(try movies.imagePalette(id: image.id) == nil)
        let colours = [MovieColour(scene: nil, tile: 0, rank: 0, r: 1, g: 2, b: 3, share: 0.5)]
        try movies.setImagePalette(id: image.id, colours: colours)
        #expect(try movies.imagePalette(id: image.id) == colours)
        try movies.setImagePalette(id: "nonexistent-id-0000000000", colours: colours) // no image: nothing stored
        #expect(try ImageStore(database: database).delete(id: image.id, owner: a))
        #expect(try movies.imagePalette(id: image.id) == nil)
    }
}
