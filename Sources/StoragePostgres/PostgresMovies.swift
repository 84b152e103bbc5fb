import Foundation
import StorageCore

extension MovieColour {
    init(postgres row: PostgresRow) throws {
        self.init(scene: try row.int(optional: "scene"), tile: try row.int(optional: "tile"), rank: try row.int(optional: "rank"),
                  r: try row.double("r"), g: try row.double("g"), b: try row.double("b"), share: try row.double(optional: "share"))
    }
}

extension MovieSummary {
    init(postgres row: PostgresRow) throws {
        guard let source = NewMovie.Source(rawValue: try row.string("source")) else {
            throw PostgresRow.DecodeError(column: "source", type: "a movie source")
        }
        self.init(id: try row.string("id"), ownerID: try row.int64("owner_id"), ownerName: try row.string("owner_name"),
                  info: MovieInfo(title: try row.string("title"), year: try row.int(optional: "year"), director: try row.string("director"),
                                  notes: try row.string("notes")),
                  source: source, sceneCount: try row.int("scene_count"), colourCount: try row.int("colour_count"),
                  dominant: StoredColours.decode(try row.string("dominant")), createdAt: try row.date("created_at"),
                  updatedAt: try row.date("updated_at"))
    }
}

extension MovieScene {
    init(postgres row: PostgresRow) throws {
        self.init(number: try row.int("number"), flags: try row.string("flags").split(separator: ",").map(String.init),
                  width: try row.int(optional: "width"), height: try row.int(optional: "height"), hasThumbnail: try row.bool("has_thumbnail"),
                  timeMS: try row.int(optional: "time_ms"))
    }
}

/// Movies in PostgreSQL: tables `movie`, `scene`, `colour`, and results' `image_palette`.
public struct PostgresMovieStore: MovieStore {
    let database: PostgresDatabase

    public func insert(_ movie: NewMovie, now: Date) throws {
        try database.transaction { c in try Self.insert(movie, now: now, on: c) }
    }

    /// Stores a movie inside a transaction someone else owns (a job's fenced finish). The
    /// colours (18 a scene, tens of thousands for a long film) go in one statement of arrays,
    /// not one round trip each.
    static func insert(_ movie: NewMovie, now: Date, on c: PostgresConnection) throws {
        try c.execute("""
            INSERT INTO movie (id, owner_id, title, year, director, notes, source, scene_count, colour_count, dominant, created_at,
                               updated_at, overview)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """, [movie.id, movie.ownerID, movie.info.title, movie.info.year, movie.info.director, movie.info.notes,
                  movie.source.rawValue, movie.scenes.count, movie.colours.count, StoredColours.json(movie.dominant), now, now,
                  movie.overview])
        for s in movie.scenes {
            try c.execute("INSERT INTO scene (movie_id, number, flags, width, height, thumbnail, time_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                          [movie.id, s.number, s.flags.joined(separator: ","), s.width, s.height, s.thumbnail, s.timeMS])
        }
        let batch = 5000
        for start in stride(from: 0, to: movie.colours.count, by: batch) {
            let slice = movie.colours[start..<min(start + batch, movie.colours.count)]
            try c.execute("""
                INSERT INTO colour (movie_id, position, scene, tile, rank, r, g, b, share)
                SELECT $1, * FROM unnest($2::integer[], $3::integer[], $4::integer[], $5::integer[],
                                         $6::float8[], $7::float8[], $8::float8[], $9::float8[])
                """, [movie.id, PostgresArray.numbers(slice.indices.map { $0 }), PostgresArray.numbers(slice.map(\.scene)),
                      PostgresArray.numbers(slice.map(\.tile)), PostgresArray.numbers(slice.map(\.rank)),
                      PostgresArray.numbers(slice.map(\.r)), PostgresArray.numbers(slice.map(\.g)), PostgresArray.numbers(slice.map(\.b)),
                      PostgresArray.numbers(slice.map(\.share))])
        }
    }

    static let summarySQL = """
        SELECT movie.id, movie.owner_id, account.username AS owner_name, movie.title, movie.year, movie.director, movie.notes,
               movie.source, movie.scene_count, movie.colour_count, movie.dominant, movie.created_at, movie.updated_at
        FROM movie JOIN account ON account.id = movie.owner_id
        """

    public func list(page: Int) throws -> (items: [MovieSummary], hasMore: Bool) {
        let page = max(1, page)
        let rows = try database.execute(Self.summarySQL + " ORDER BY movie.created_at DESC, movie.id LIMIT $1 OFFSET $2",
                                        [ImagePages.size + 1, (page - 1) * ImagePages.size]).all.map(MovieSummary.init(postgres:))
        return (Array(rows.prefix(ImagePages.size)), rows.count > ImagePages.size)
    }

    public func all() throws -> [MovieSummary] {
        try database.execute(Self.summarySQL + " ORDER BY movie.created_at, movie.id").all.map(MovieSummary.init(postgres:))
    }

    public func find(id: String) throws -> MovieSummary? {
        try database.execute(Self.summarySQL + " WHERE movie.id = $1", [id]).first.map(MovieSummary.init(postgres:))
    }

    static let sceneColumns = "number, flags, width, height, thumbnail IS NOT NULL AS has_thumbnail, time_ms"

    public func contents(id: String) throws -> (scenes: [MovieScene], colours: [MovieColour]) {
        // One snapshot for both reads (REPEATABLE READ): never a scene list from before an edit
        // with colours from after it.
        try database.transaction(readOnlySnapshot: true) { c in
            let scenes = try c.execute("SELECT \(Self.sceneColumns) FROM scene WHERE movie_id = $1 ORDER BY number", [id])
                .all.map(MovieScene.init(postgres:))
            let colours = try c.execute("SELECT scene, tile, rank, r, g, b, share FROM colour WHERE movie_id = $1 ORDER BY position", [id])
                .all.map(MovieColour.init(postgres:))
            return (scenes, colours)
        }
    }

    public func scenes(id: String, page: Int, perPage: Int) throws -> (scenes: [MovieScene], colours: [MovieColour], hasMore: Bool) {
        try database.transaction(readOnlySnapshot: true) { c in
            var scenes = try c.execute("""
                SELECT \(Self.sceneColumns) FROM scene WHERE movie_id = $1 ORDER BY number LIMIT $2 OFFSET $3
                """, [id, perPage + 1, (max(page, 1) - 1) * perPage]).all.map(MovieScene.init(postgres:))
            let hasMore = scenes.count > perPage
            scenes = Array(scenes.prefix(perPage))
            guard let first = scenes.first?.number, let last = scenes.last?.number else { return ([], [], hasMore) }
            let colours = try c.execute("""
                SELECT scene, tile, rank, r, g, b, share FROM colour WHERE movie_id = $1 AND scene BETWEEN $2 AND $3 ORDER BY position
                """, [id, first, last]).all.map(MovieColour.init(postgres:))
            return (scenes, colours, hasMore)
        }
    }

    public func overview(id: String) throws -> String? {
        try database.execute("SELECT overview FROM movie WHERE id = $1", [id]).first?.string(optional: "overview")
    }

    public func setOverview(id: String, json: String) throws {
        try database.execute("UPDATE movie SET overview = $1 WHERE id = $2", [json, id])
    }

    public func thumbnail(movie: String, scene: Int) throws -> Data? {
        try database.execute("SELECT thumbnail FROM scene WHERE movie_id = $1 AND number = $2", [movie, scene]).first?.data(optional: "thumbnail")
    }

    public func update(id: String, owner: Int64, info: MovieInfo, now: Date) throws -> Bool {
        try database.execute("""
            UPDATE movie SET title = $1, year = $2, director = $3, notes = $4, updated_at = $5 WHERE id = $6 AND owner_id = $7
            """, [info.title, info.year, info.director, info.notes, now, id, owner]).affected == 1
    }

    public func delete(id: String, owner: Int64) throws -> Bool {
        try database.execute("DELETE FROM movie WHERE id = $1 AND owner_id = $2", [id, owner]).affected == 1
    }

    public func imagePalette(id: String) throws -> [MovieColour]? {
        guard let text = try database.execute("SELECT colours FROM image_palette WHERE image_id = $1", [id]).first?.string("colours") else {
            return nil
        }
        return try StoredColours.decode(tiles: text)
    }

    public func setImagePalette(id: String, colours: [MovieColour]) throws {
        try database.execute("""
            INSERT INTO image_palette (image_id, colours) SELECT id, $1 FROM image WHERE id = $2
            ON CONFLICT (image_id) DO UPDATE SET colours = excluded.colours
            """, [try StoredColours.json(tiles: colours), id])
    }
}

extension PostgresArray {
    /// Numbers (or NULLs) as an array literal: `{1,NULL,2.5}`.
    static func numbers<T: CustomStringConvertible>(_ values: [T?]) -> PostgresValue {
        .text("{" + values.map { $0?.description ?? "NULL" }.joined(separator: ",") + "}")
    }

    static func numbers<T: CustomStringConvertible>(_ values: [T]) -> PostgresValue {
        .text("{" + values.map(\.description).joined(separator: ",") + "}")
    }
}
