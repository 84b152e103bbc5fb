import Foundation
import GRDB

/// A colour as stored: 0–255 channels and, where known, its share (of a tile, or of a palette).
public struct StoredColour: Codable, Sendable, Equatable {
    public var r: Double
    public var g: Double
    public var b: Double
    public var share: Double?

    public init(r: Double, g: Double, b: Double, share: Double? = nil) {
        self.r = r
        self.g = g
        self.b = b
        self.share = share
    }
}

/// A movie's metadata, as members edit it.
public struct MovieInfo: Sendable, Equatable {
    public var title: String
    public var year: Int?
    public var director: String
    public var notes: String

    public init(title: String, year: Int? = nil, director: String = "", notes: String = "") {
        self.title = title
        self.year = year
        self.director = director
        self.notes = notes
    }
}

/// A movie to store, with all its scenes and colours.
public struct NewMovie: Sendable {
    public enum Source: String, Sendable { case frames, csv }

    public struct Scene: Sendable {
        public var number: Int
        public var flags: [String]
        public var width: Int?
        public var height: Int?
        public var thumbnail: Data?

        public init(number: Int, flags: [String], width: Int? = nil, height: Int? = nil, thumbnail: Data? = nil) {
            self.number = number
            self.flags = flags
            self.width = width
            self.height = height
            self.thumbnail = thumbnail
        }
    }

    public var id: String
    public var ownerID: Int64
    public var info: MovieInfo
    public var source: Source
    public var scenes: [Scene]
    public var colours: [MovieColour]
    public var dominant: [StoredColour]
    /// What the movie page draws of the whole film (JSON), bounded whatever its length.
    public var overview: String?

    public init(id: String = Image.newID(), ownerID: Int64, info: MovieInfo, source: Source, scenes: [Scene],
                colours: [MovieColour], dominant: [StoredColour], overview: String? = nil) {
        self.overview = overview
        self.id = id
        self.ownerID = ownerID
        self.info = info
        self.source = source
        self.scenes = scenes
        self.colours = colours
        self.dominant = dominant
    }
}

/// One colour of a movie: a scene's tile colour, or (scene nil) an ungrouped imported colour.
public struct MovieColour: Sendable, Equatable, FetchableRecord {
    public var scene: Int?
    public var tile: Int?
    public var rank: Int?
    public var r: Double
    public var g: Double
    public var b: Double
    public var share: Double?

    public init(scene: Int?, tile: Int?, rank: Int?, r: Double, g: Double, b: Double, share: Double?) {
        self.scene = scene
        self.tile = tile
        self.rank = rank
        self.r = r
        self.g = g
        self.b = b
        self.share = share
    }

    public init(row: Row) {
        self.init(scene: row["scene"], tile: row["tile"], rank: row["rank"], r: row["r"], g: row["g"], b: row["b"], share: row["share"])
    }
}

/// A movie as lists and pages show it (no colours, no thumbnails).
public struct MovieSummary: Sendable, Equatable, FetchableRecord {
    public var id: String
    public var ownerID: Int64
    public var ownerName: String
    public var info: MovieInfo
    public var source: NewMovie.Source
    public var sceneCount: Int
    public var colourCount: Int
    public var dominant: [StoredColour]
    public var createdAt: Date
    public var updatedAt: Date

    public init(row: Row) {
        id = row["id"]
        ownerID = row["owner_id"]
        ownerName = row["owner_name"]
        info = MovieInfo(title: row["title"], year: row["year"], director: row["director"], notes: row["notes"])
        source = NewMovie.Source(rawValue: row["source"]) ?? .frames
        sceneCount = row["scene_count"]
        colourCount = row["colour_count"]
        dominant = (try? JSONDecoder().decode([StoredColour].self, from: Data((row["dominant"] as String).utf8))) ?? []
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
    }
}

/// A stored scene without its thumbnail bytes.
public struct MovieScene: Sendable, Equatable, FetchableRecord {
    public var number: Int
    public var flags: [String]
    public var width: Int?
    public var height: Int?
    public var hasThumbnail: Bool

    public init(row: Row) {
        number = row["number"]
        flags = (row["flags"] as String).split(separator: ",").map(String.init)
        width = row["width"]
        height = row["height"]
        hasThumbnail = row["has_thumbnail"]
    }
}

/// Movies: public to read; created, edited and deleted by their owner only.
public struct MovieStore: Sendable {
    let database: AppDatabase
    public static let pageSize = 24

    public init(database: AppDatabase) { self.database = database }

    static func json(_ colours: [StoredColour]) -> String {
        String(decoding: (try? JSONEncoder().encode(colours)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Stores a movie with its scenes and colours in one transaction: all of it, or nothing.
    public func insert(_ movie: NewMovie, now: Date = Date()) throws {
        try database.pool.write { db in try Self.insert(movie, now: now, in: db) }
    }

    /// Stores a movie inside a transaction someone else owns (a job's fenced finish).
    static func insert(_ movie: NewMovie, now: Date, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO movie (id, owner_id, title, year, director, notes, source, scene_count, colour_count, dominant, created_at,
                               updated_at, overview)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [movie.id, movie.ownerID, movie.info.title, movie.info.year, movie.info.director, movie.info.notes,
                             movie.source.rawValue, movie.scenes.count, movie.colours.count, Self.json(movie.dominant), now, now,
                             movie.overview])
        let scene = try db.makeStatement(sql: "INSERT INTO scene (movie_id, number, flags, width, height, thumbnail) VALUES (?, ?, ?, ?, ?, ?)")
        for s in movie.scenes {
            try scene.execute(arguments: [movie.id, s.number, s.flags.joined(separator: ","), s.width, s.height, s.thumbnail])
        }
        let colour = try db.makeStatement(sql: """
            INSERT INTO colour (movie_id, position, scene, tile, rank, r, g, b, share) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (position, c) in movie.colours.enumerated() {
            try colour.execute(arguments: [movie.id, position, c.scene, c.tile, c.rank, c.r, c.g, c.b, c.share])
        }
    }

    static let summarySQL = """
        SELECT movie.id, movie.owner_id, user.username AS owner_name, movie.title, movie.year, movie.director, movie.notes,
               movie.source, movie.scene_count, movie.colour_count, movie.dominant, movie.created_at, movie.updated_at
        FROM movie JOIN user ON user.id = movie.owner_id
        """

    /// Every movie, newest first, a page at a time; and whether another page follows.
    public func list(page: Int) throws -> (items: [MovieSummary], hasMore: Bool) {
        let page = max(1, page)
        let rows = try database.pool.read { db in
            try MovieSummary.fetchAll(db, sql: Self.summarySQL + " ORDER BY movie.created_at DESC, movie.id LIMIT ? OFFSET ?",
                                      arguments: [Self.pageSize + 1, (page - 1) * Self.pageSize])
        }
        return (Array(rows.prefix(Self.pageSize)), rows.count > Self.pageSize)
    }

    /// Every movie's dominant palette (for "the nearest movie" comparisons).
    public func all() throws -> [MovieSummary] {
        try database.pool.read { db in try MovieSummary.fetchAll(db, sql: Self.summarySQL + " ORDER BY movie.created_at") }
    }

    public func find(id: String) throws -> MovieSummary? {
        try database.pool.read { db in try MovieSummary.fetchOne(db, sql: Self.summarySQL + " WHERE movie.id = ?", arguments: [id]) }
    }

    /// The movie's scenes in order, and its colours in order (scene colours, then ungrouped).
    public func contents(id: String) throws -> (scenes: [MovieScene], colours: [MovieColour]) {
        try database.pool.read { db in
            let scenes = try MovieScene.fetchAll(db, sql: """
                SELECT number, flags, width, height, thumbnail IS NOT NULL AS has_thumbnail FROM scene WHERE movie_id = ? ORDER BY number
                """, arguments: [id])
            let colours = try MovieColour.fetchAll(db, sql: """
                SELECT scene, tile, rank, r, g, b, share FROM colour WHERE movie_id = ? ORDER BY position
                """, arguments: [id])
            return (scenes, colours)
        }
    }

    /// One page of a movie's scenes in order, with their colours (two indexed range reads,
    /// whatever the movie's length), and whether more scenes follow.
    public func scenes(id: String, page: Int, perPage: Int) throws -> (scenes: [MovieScene], colours: [MovieColour], hasMore: Bool) {
        try database.pool.read { db in
            var scenes = try MovieScene.fetchAll(db, sql: """
                SELECT number, flags, width, height, thumbnail IS NOT NULL AS has_thumbnail FROM scene WHERE movie_id = ?
                ORDER BY number LIMIT ? OFFSET ?
                """, arguments: [id, perPage + 1, (max(page, 1) - 1) * perPage])
            let hasMore = scenes.count > perPage
            scenes = Array(scenes.prefix(perPage))
            guard let first = scenes.first?.number, let last = scenes.last?.number else { return ([], [], hasMore) }
            let colours = try MovieColour.fetchAll(db, sql: """
                SELECT scene, tile, rank, r, g, b, share FROM colour WHERE movie_id = ? AND scene BETWEEN ? AND ? ORDER BY position
                """, arguments: [id, first, last])
            return (scenes, colours, hasMore)
        }
    }

    /// The stored overview (JSON), or nil for a movie stored before there were overviews.
    public func overview(id: String) throws -> String? {
        try database.pool.read { db in try String.fetchOne(db, sql: "SELECT overview FROM movie WHERE id = ?", arguments: [id]) }
    }

    public func setOverview(id: String, json: String) throws {
        try database.pool.write { db in
            try db.execute(sql: "UPDATE movie SET overview = ? WHERE id = ?", arguments: [json, id])
        }
    }

    public func thumbnail(movie: String, scene: Int) throws -> Data? {
        try database.pool.read { db in
            try Data.fetchOne(db, sql: "SELECT thumbnail FROM scene WHERE movie_id = ? AND number = ?", arguments: [movie, scene])
        }
    }

    /// Changes an own movie's metadata; false if it is not the member's (or does not exist).
    public func update(id: String, owner: Int64, info: MovieInfo, now: Date = Date()) throws -> Bool {
        try database.pool.write { db in
            try db.execute(sql: """
                UPDATE movie SET title = ?, year = ?, director = ?, notes = ?, updated_at = ? WHERE id = ? AND owner_id = ?
                """, arguments: [info.title, info.year, info.director, info.notes, now, id, owner])
            return db.changesCount == 1
        }
    }

    /// Deletes an own movie with its scenes and colours; false if it is not the member's.
    public func delete(id: String, owner: Int64) throws -> Bool {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM movie WHERE id = ? AND owner_id = ?", arguments: [id, owner])
            return db.changesCount == 1
        }
    }

    // MARK: A cartoon result's own palette

    public func imagePalette(id: String) throws -> [MovieColour]? {
        try database.pool.read { db in
            guard let text = try String.fetchOne(db, sql: "SELECT colours FROM image_palette WHERE image_id = ?", arguments: [id]) else {
                return nil
            }
            return try JSONDecoder().decode([StoredTileColour].self, from: Data(text.utf8)).map(\.colour)
        }
    }

    /// Remembers a result's palette (replacing an earlier one); nothing if the image is gone.
    public func setImagePalette(id: String, colours: [MovieColour]) throws {
        let text = String(decoding: try JSONEncoder().encode(colours.map(StoredTileColour.init)), as: UTF8.self)
        try database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO image_palette (image_id, colours) SELECT id, ? FROM image WHERE id = ?
                ON CONFLICT (image_id) DO UPDATE SET colours = excluded.colours
                """, arguments: [text, id])
        }
    }
}

/// The JSON form of a result's tile colour.
struct StoredTileColour: Codable {
    var tile: Int?, rank: Int?, r: Double, g: Double, b: Double, share: Double?
    init(_ c: MovieColour) { (tile, rank, r, g, b, share) = (c.tile, c.rank, c.r, c.g, c.b, c.share) }
    var colour: MovieColour { MovieColour(scene: nil, tile: tile, rank: rank, r: r, g: g, b: b, share: share) }
}
