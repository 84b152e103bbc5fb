import Foundation
import StorageCore
import Testing

/// Rows in movie, scene and colour.
func rowCounts(_ db: TestDatabase) throws -> [Int] {
    try ["movie", "scene", "colour"].map { try db.count($0) }
}

@Suite("Movie store")
struct MovieStoreTests {
    func setUp(_ backend: Backend) throws -> (TestDatabase, any MovieStore, Int64, Int64) {
        let db = try TestDatabase(backend)
        let a = try db.stores.users.create(username: "chihiro", passwordHash: hashA).id!
        let b = try db.stores.users.create(username: "haku", passwordHash: hashA).id!
        return (db, db.stores.movies, a, b)
    }

    func movie(owner: Int64, title: String = "Spirited Away", badColour: Bool = false) -> NewMovie {
        let scenes = [NewMovie.Scene(number: 1, flags: [], width: 1920, height: 1080, thumbnail: Data([1, 2, 3])),
                      NewMovie.Scene(number: 2, flags: ["fade"], width: 1920, height: 1080, thumbnail: nil, timeMS: 754_250)]
        var colours = (0..<18).map { i in
            MovieColour(scene: 1, tile: i / 3, rank: i % 3, r: Double(i * 10), g: 20, b: badColour && i == 17 ? 300 : 30, share: 1.0 / 3)
        }
        colours.append(MovieColour(scene: nil, tile: nil, rank: nil, r: 1.5, g: 2.5, b: 3.5, share: nil))
        return NewMovie(ownerID: owner, info: MovieInfo(title: title, year: 2001, director: "Miyazaki", notes: "Bathhouse"),
                        source: .frames, scenes: scenes, colours: colours, dominant: [StoredColour(r: 10, g: 20, b: 30, share: 1)])
    }

    @Test("a movie is stored whole, listed to everyone, read back in order", arguments: Backend.available)
    func roundTrip(_ backend: Backend) throws {
        let (db, movies, a, _) = try setUp(backend)
        defer { db.close() }
        let m = movie(owner: a)
        try movies.insert(m)
        let found = try #require(try movies.find(id: m.id))
        #expect(found.info == m.info && found.ownerName == "chihiro" && found.sceneCount == 2 && found.colourCount == 19)
        #expect(found.dominant == m.dominant)
        #expect(try movies.list(page: 1).items.map(\.id) == [m.id])
        let contents = try movies.contents(id: m.id)
        #expect(contents.scenes.map(\.number) == [1, 2] && contents.scenes[1].flags == ["fade"])
        #expect(contents.scenes.map(\.hasThumbnail) == [true, false])
        #expect(contents.scenes.map(\.timeMS) == [nil, 754_250])
        #expect(try movies.scenes(id: m.id, page: 1, perPage: 10).scenes.map(\.timeMS) == [nil, 754_250])
        #expect(contents.colours == m.colours)
        #expect(try movies.thumbnail(movie: m.id, scene: 1) == Data([1, 2, 3]))
    }

    @Test("a bad colour stores nothing at all", arguments: Backend.available)
    func allOrNothing(_ backend: Backend) throws {
        let (db, movies, a, _) = try setUp(backend)
        defer { db.close() }
        #expect(throws: (any Error).self) { try movies.insert(movie(owner: a, badColour: true)) }
        #expect(try rowCounts(db) == [0, 0, 0])
    }

    @Test("only the owner edits or deletes; deleting takes scenes and colours; accounts take their movies", arguments: Backend.available)
    func ownership(_ backend: Backend) throws {
        let (db, movies, a, b) = try setUp(backend)
        defer { db.close() }
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
        try db.stores.users.delete(id: b)
        #expect(try rowCounts(db) == [0, 0, 0])
    }

    @Test("a result's palette is kept until the image goes", arguments: Backend.available)
    func imagePalette(_ backend: Backend) throws {
        let (db, movies, a, _) = try setUp(backend)
        defer { db.close() }
        let image = Image.make(owner: a)
        try db.stores.images.insert(image)
        #expect(try movies.imagePalette(id: image.id) == nil)
        let colours = [MovieColour(scene: nil, tile: 0, rank: 0, r: 1, g: 2, b: 3, share: 0.5)]
        try movies.setImagePalette(id: image.id, colours: colours)
        #expect(try movies.imagePalette(id: image.id) == colours)
        try movies.setImagePalette(id: "nonexistent-id-0000000000", colours: colours) // no image: nothing stored
        #expect(try db.stores.images.delete(id: image.id, owner: a))
        #expect(try movies.imagePalette(id: image.id) == nil)
    }

    @Test("a long film: thousands of colours in one go, read a page of scenes at a time; the overview is kept",
          arguments: Backend.available)
    func longFilm(_ backend: Backend) throws {
        let (db, movies, a, _) = try setUp(backend)
        defer { db.close() }
        let scenes = (1...400).map { NewMovie.Scene(number: $0, flags: $0 % 7 == 0 ? ["dark", "fade"] : []) }
        var colours: [MovieColour] = []
        for scene in scenes {
            for i in 0..<18 {
                let share = Double(i % 3 + 1) / 6
                colours.append(MovieColour(scene: scene.number, tile: i / 3, rank: i % 3, r: Double(scene.number % 256),
                                           g: Double(i) + 0.125, b: 255, share: share))
            }
        }
        let m = NewMovie(ownerID: a, info: MovieInfo(title: "Long"), source: .frames, scenes: scenes, colours: colours, dominant: [])
        try movies.insert(m)
        #expect(try rowCounts(db) == [1, 400, 7200])
        let page = try movies.scenes(id: m.id, page: 3, perPage: 50)
        #expect(page.scenes.map { $0.number } == Array(101...150) && page.hasMore)
        #expect(page.colours == Array(colours[(100 * 18)..<(150 * 18)]))
        #expect(page.scenes.first { $0.number == 105 }?.flags == ["dark", "fade"])
        #expect(try movies.scenes(id: m.id, page: 8, perPage: 50).hasMore == false)
        #expect(try movies.scenes(id: m.id, page: 9, perPage: 50).scenes.isEmpty)
        #expect(try movies.contents(id: m.id).colours == colours)
        #expect(try movies.overview(id: m.id) == nil)
        try movies.setOverview(id: m.id, json: #"{"scenes":400}"#)
        #expect(try movies.overview(id: m.id) == #"{"scenes":400}"#)
        #expect(try movies.all().map(\.id) == [m.id])
    }
}
