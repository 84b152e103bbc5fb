import Foundation
import GRDB
import StorageCore

extension MovieColour: FetchableRecord {
    public init(row: Row) {
        self.init(scene: row["scene"], tile: row["tile"], rank: row["rank"], r: row["r"], g: row["g"], b: row["b"], share: row["share"])
    }
}

extension MovieSummary: FetchableRecord {
    public init(row: Row) {
        self.init(id: row["id"], ownerID: row["owner_id"], ownerName: row["owner_name"],
                  info: MovieInfo(title: row["title"], year: row["year"], director: row["director"], notes: row["notes"]),
                  source: NewMovie.Source(rawValue: row["source"]) ?? .frames, sceneCount: row["scene_count"],
                  colourCount: row["colour_count"], dominant: StoredColours.decode(row["dominant"]),
                  createdAt: row["created_at"], updatedAt: row["updated_at"])
    }
}

extension MovieScene: FetchableRecord {
    public init(row: Row) {
        self.init(number: row["number"], flags: (row["flags"] as String).split(separator: ",").map(String.init),
                  width: row["width"], height: row["height"], hasThumbnail: row["has_thumbnail"], timeMS: row["time_ms"])
    }
}

/// Movies in SQLite: tables `movie`, `scene`, `colour`, and results' `image_palette`.
public struct SQLiteMovieStore: MovieStore {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func insert(_ movie: NewMovie, now: Date) throws {
        try database.pool.write { db in try Self.insert(movie, now: now, in: db) }
    }

    /// Stores a movie inside a transaction someone else owns (a job's fenced finish).
    static func insert(_ movie: NewMovie, now: Date, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO movie (id, owner_id, title, year, director, notes, source, scene_count, colour_count, dominant, created_at,
                               updated_at, overview)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [movie.id, movie.ownerID, movie.info.title, movie.info.year, movie.info.director, movie.info.notes,
                             movie.source.rawValue, movie.scenes.count, movie.colours.count, StoredColours.json(movie.dominant), now, now,
                             movie.overview])
        let scene = try db.makeStatement(sql: "INSERT INTO scene (movie_id, number, flags, width, height, thumbnail, time_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for s in movie.scenes {
            try scene.execute(arguments: [movie.id, s.number, s.flags.joined(separator: ","), s.width, s.height, s.thumbnail, s.timeMS])
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
                                      arguments: [ImagePages.size + 1, (page - 1) * ImagePages.size])
        }
        return (Array(rows.prefix(ImagePages.size)), rows.count > ImagePages.size)
    }

    /// Every movie's dominant palette, for "the nearest movie" comparisons: every picture's page
    /// asks, so it is one statement, compiled once per connection.
    public func all() throws -> [MovieSummary] {
        try database.pool.unsafeRead { db in try MovieSummary.fetchAll(db.cachedStatement(sql: Self.summarySQL + " ORDER BY movie.created_at")) }
    }

    public func find(id: String) throws -> MovieSummary? {
        try database.pool.read { db in try MovieSummary.fetchOne(db, sql: Self.summarySQL + " WHERE movie.id = ?", arguments: [id]) }
    }

    /// The movie's scenes in order, and its colours in order (scene colours, then ungrouped).
    public func contents(id: String) throws -> (scenes: [MovieScene], colours: [MovieColour]) {
        try database.pool.read { db in
            let scenes = try MovieScene.fetchAll(db, sql: """
                SELECT number, flags, width, height, thumbnail IS NOT NULL AS has_thumbnail, time_ms FROM scene WHERE movie_id = ? ORDER BY number
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
                SELECT number, flags, width, height, thumbnail IS NOT NULL AS has_thumbnail, time_ms FROM scene WHERE movie_id = ?
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
    public func update(id: String, owner: Int64, info: MovieInfo, now: Date) throws -> Bool {
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

    /// Every view of a picture's page asks this: one statement, compiled once per connection.
    public func imagePalette(id: String) throws -> [MovieColour]? {
        try database.pool.unsafeRead { db in
            guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT colours FROM image_palette WHERE image_id = ?"), arguments: [id]) else {
                return nil
            }
            return try StoredColours.decode(tiles: text)
        }
    }

    /// Remembers a result's palette (replacing an earlier one); nothing if the image is gone.
    public func setImagePalette(id: String, colours: [MovieColour]) throws {
        let text = try StoredColours.json(tiles: colours)
        try database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO image_palette (image_id, colours) SELECT id, ? FROM image WHERE id = ?
                ON CONFLICT (image_id) DO UPDATE SET colours = excluded.colours
                """, arguments: [text, id])
        }
    }
}

