import Foundation

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
        /// Where the frame was taken, in milliseconds from the start of its video (frames from
        /// a video only).
        public var timeMS: Int?

        public init(number: Int, flags: [String], width: Int? = nil, height: Int? = nil, thumbnail: Data? = nil, timeMS: Int? = nil) {
            self.number = number
            self.flags = flags
            self.width = width
            self.height = height
            self.thumbnail = thumbnail
            self.timeMS = timeMS
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
public struct MovieColour: Sendable, Equatable {
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
}

/// A movie as lists and pages show it (no colours, no thumbnails).
public struct MovieSummary: Sendable, Equatable {
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

    public init(id: String, ownerID: Int64, ownerName: String, info: MovieInfo, source: NewMovie.Source, sceneCount: Int,
                colourCount: Int, dominant: [StoredColour], createdAt: Date, updatedAt: Date) {
        (self.id, self.ownerID, self.ownerName, self.info, self.source) = (id, ownerID, ownerName, info, source)
        (self.sceneCount, self.colourCount, self.dominant) = (sceneCount, colourCount, dominant)
        (self.createdAt, self.updatedAt) = (createdAt, updatedAt)
    }
}

/// A stored scene without its thumbnail bytes.
public struct MovieScene: Sendable, Equatable {
    public var number: Int
    public var flags: [String]
    public var width: Int?
    public var height: Int?
    public var hasThumbnail: Bool
    /// Milliseconds into the video the frame came from; nil for uploaded frames.
    public var timeMS: Int?

    public init(number: Int, flags: [String], width: Int?, height: Int?, hasThumbnail: Bool, timeMS: Int? = nil) {
        (self.number, self.flags, self.width, self.height, self.hasThumbnail, self.timeMS) = (number, flags, width, height, hasThumbnail, timeMS)
    }
}

/// How stores keep a list of colours (JSON): a movie's dominant palette.
public enum StoredColours {
    public static func json(_ colours: [StoredColour]) -> String {
        String(decoding: (try? JSONEncoder().encode(colours)) ?? Data("[]".utf8), as: UTF8.self)
    }

    public static func decode(_ text: String) -> [StoredColour] {
        (try? JSONDecoder().decode([StoredColour].self, from: Data(text.utf8))) ?? []
    }

    /// A cartoon result's own palette, as `image_palette.colours` keeps it.
    public static func json(tiles colours: [MovieColour]) throws -> String {
        String(decoding: try JSONEncoder().encode(colours.map(StoredTileColour.init)), as: UTF8.self)
    }

    public static func decode(tiles text: String) throws -> [MovieColour] {
        try JSONDecoder().decode([StoredTileColour].self, from: Data(text.utf8)).map(\.colour)
    }
}

/// The JSON form of a result's tile colour.
struct StoredTileColour: Codable {
    var tile: Int?, rank: Int?, r: Double, g: Double, b: Double, share: Double?
    init(_ c: MovieColour) { (tile, rank, r, g, b, share) = (c.tile, c.rank, c.r, c.g, c.b, c.share) }
    var colour: MovieColour { MovieColour(scene: nil, tile: tile, rank: rank, r: r, g: g, b: b, share: share) }
}
