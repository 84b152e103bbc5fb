import Foundation
import GRDB
import StorageCore
#if canImport(Glibc)
import Glibc
#endif

/// The SQLite database in the data folder: a GRDB pool in WAL mode, with named migrations
/// recorded in the database itself.
///
/// Durability: `synchronous = FULL` makes every commit reach the disk (WAL plus fsync) before
/// it returns, so a write acknowledged to a user survives a killed process or a power cut.
public final class AppDatabase: Sendable {
    public let pool: DatabasePool
    /// A read-only connection of its own for `dataVersion()`: SQLite's data_version counts
    /// commits made by *other* connections, and its values compare only on one connection, so
    /// neither the pool's writer nor its readers (several, lent in turn) can ask it.
    private let versionConnection: DatabaseQueue

    /// Opens (creating if needed) `data/artworker.sqlite` and migrates it to the current schema.
    ///
    /// The database holds bcrypt hashes and private pictures: the folder is made 0700 and the
    /// database 0600 before SQLite opens it, so no other local user can read either. SQLite gives
    /// the WAL and shared-memory files the database file's mode; files left by an older version
    /// with wider modes are narrowed here too.
    public static func open(directory: URL) throws -> AppDatabase {
        try privateFolder(directory)
        let path = directory.appendingPathComponent("artworker.sqlite").path
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DatabaseFileError(path: path, reason: String(cString: strerror(errno))) }
        close(fd)
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            guard chmod(file, 0o600) == 0 else { throw DatabaseFileError(path: file, reason: String(cString: strerror(errno))) }
        }
        return try AppDatabase(path: path)
    }

    /// Creates `directory` (and missing parents) and makes it 0700 whether new or not.
    public static func privateFolder(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        guard chmod(directory.path, 0o700) == 0 else {
            throw DatabaseFileError(path: directory.path, reason: String(cString: strerror(errno)))
        }
    }

    public struct DatabaseFileError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot prepare \(path): \(reason)" }
    }

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Writers wait for each other instead of failing (pool readers never block in WAL).
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        var reader = Configuration()
        reader.readonly = true
        reader.busyMode = .timeout(5)
        versionConnection = try DatabaseQueue(path: path, configuration: reader)
    }

    /// The database's commit mark (see `DataVersion`): `PRAGMA data_version` on one connection
    /// that never writes, so it changes whenever any other connection — this process's pool, a
    /// worker process — commits. Each call is a read transaction of its own, which is what
    /// makes SQLite look at the WAL's header again (sqlite.org/pragma.html#pragma_data_version).
    public func dataVersion() throws -> DataVersion {
        try versionConnection.inDatabase { db in
            DataVersion(String(try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0))
        }
    }

    /// Every schema change, in order, by name. Later issues append their own.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users") { db in
            try db.execute(sql: """
                CREATE TABLE user (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    -- case-insensitive uniqueness: "Mei" and "mei" are the same account
                    username TEXT NOT NULL UNIQUE COLLATE NOCASE
                        CHECK (length(username) BETWEEN 3 AND 32),
                    password_hash TEXT NOT NULL CHECK (password_hash LIKE '$2b$%'),
                    created_at DATETIME NOT NULL
                )
                """)
        }
        migrator.registerMigration("v1: revoked tokens") { db in
            // Logged-out session tokens, kept until they would have expired anyway.
            try db.execute(sql: """
                CREATE TABLE revoked_token (
                    jti TEXT PRIMARY KEY NOT NULL,
                    expires_at DATETIME NOT NULL
                ) WITHOUT ROWID
                """)
            try db.execute(sql: "CREATE INDEX revoked_token_expiry ON revoked_token (expires_at)")
        }
        migrator.registerMigration("v2: images") { db in
            // One cartoonized picture with its original, thumbnail and provenance. Ids are
            // unguessable (128 random bits); a member's images go with the account (CASCADE);
            // anonymous results carry an expiry and are listed nowhere.
            try db.execute(sql: """
                CREATE TABLE image (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) >= 22),
                    owner_id INTEGER REFERENCES user(id) ON DELETE CASCADE,
                    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'public', 'anonymous')),
                    style TEXT NOT NULL CHECK (style IN ('hayao', 'hosoda', 'paprika', 'shinkai')),
                    strength INTEGER NOT NULL CHECK (strength BETWEEN 0 AND 100),
                    input_width INTEGER NOT NULL CHECK (input_width > 0),
                    input_height INTEGER NOT NULL CHECK (input_height > 0),
                    width INTEGER NOT NULL CHECK (width > 0),
                    height INTEGER NOT NULL CHECK (height > 0),
                    model_sha256 TEXT NOT NULL CHECK (length(model_sha256) = 64),
                    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
                    original BLOB NOT NULL,
                    original_type TEXT NOT NULL CHECK (original_type IN ('image/jpeg', 'image/png')),
                    result BLOB NOT NULL,
                    thumbnail BLOB NOT NULL,
                    like_count INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0),
                    created_at DATETIME NOT NULL,
                    expires_at DATETIME,
                    CHECK ((visibility = 'anonymous') = (owner_id IS NULL)),
                    CHECK ((visibility = 'anonymous') = (expires_at IS NOT NULL))
                )
                """)
            try db.execute(sql: "CREATE INDEX image_owner ON image (owner_id, created_at)")
            try db.execute(sql: "CREATE INDEX image_public ON image (visibility, created_at)")
            try db.execute(sql: "CREATE INDEX image_expiry ON image (expires_at) WHERE expires_at IS NOT NULL")
            try db.execute(sql: """
                CREATE TABLE image_like (
                    image_id TEXT NOT NULL REFERENCES image(id) ON DELETE CASCADE,
                    user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    created_at DATETIME NOT NULL,
                    PRIMARY KEY (image_id, user_id)
                ) WITHOUT ROWID
                """)
            // like_count follows image_like exactly, also when likes vanish by cascade.
            try db.execute(sql: """
                CREATE TRIGGER image_like_added AFTER INSERT ON image_like BEGIN
                    UPDATE image SET like_count = like_count + 1 WHERE id = NEW.image_id;
                END
                """)
            try db.execute(sql: """
                CREATE TRIGGER image_like_removed AFTER DELETE ON image_like BEGIN
                    UPDATE image SET like_count = like_count - 1 WHERE id = OLD.image_id;
                END
                """)
        }
        migrator.registerMigration("v3: image bytes apart, titles") { db in
            // SQLite stores a row's columns in order, and reading a column that follows a large
            // BLOB walks that BLOB's overflow pages: listing 24 pictures read ~100 MB, and a
            // thumbnail request read the original and the result first. The bytes move to their
            // own table, one row per part, so metadata rows stay small and a part is read alone.
            try db.execute(sql: """
                CREATE TABLE image_data (
                    image_id TEXT NOT NULL REFERENCES image(id) ON DELETE CASCADE,
                    part TEXT NOT NULL CHECK (part IN ('original', 'result', 'thumbnail')),
                    bytes BLOB NOT NULL,
                    PRIMARY KEY (image_id, part)
                )
                """)
            for part in ["original", "result", "thumbnail"] {
                try db.execute(sql: "INSERT INTO image_data (image_id, part, bytes) SELECT id, '\(part)', \(part) FROM image")
                try db.execute(sql: "ALTER TABLE image DROP COLUMN \(part)")
            }
            // The uploaded file's name (without extension), so downloads can be called
            // "harbour-hayao.png" rather than by an opaque id.
            try db.execute(sql: "ALTER TABLE image ADD COLUMN title TEXT NOT NULL DEFAULT '' CHECK (length(title) <= 80)")
        }
        migrator.registerMigration("v4: movies") { db in
            // A film's colour study: public, edited and deleted by the member who made it. The
            // dominant palette and the counts are kept on the row (JSON), so lists never read
            // the colours.
            try db.execute(sql: """
                CREATE TABLE movie (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) >= 22),
                    owner_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
                    year INTEGER CHECK (year BETWEEN 1870 AND 2100),
                    director TEXT NOT NULL DEFAULT '' CHECK (length(director) <= 120),
                    notes TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
                    source TEXT NOT NULL CHECK (source IN ('frames', 'csv')),
                    scene_count INTEGER NOT NULL CHECK (scene_count >= 0),
                    colour_count INTEGER NOT NULL CHECK (colour_count >= 0),
                    dominant TEXT NOT NULL,
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL
                )
                """)
            try db.execute(sql: "CREATE INDEX movie_created ON movie (created_at)")
            // One analysed frame. The thumbnail is the last column: reading the others never
            // walks its overflow pages.
            try db.execute(sql: """
                CREATE TABLE scene (
                    movie_id TEXT NOT NULL REFERENCES movie(id) ON DELETE CASCADE,
                    number INTEGER NOT NULL CHECK (number >= 1),
                    flags TEXT NOT NULL DEFAULT '',
                    width INTEGER CHECK (width > 0),
                    height INTEGER CHECK (height > 0),
                    thumbnail BLOB,
                    PRIMARY KEY (movie_id, number)
                )
                """)
            // A scene's tile colour (tile 0–5, rank 0–2, its share of the tile), or, with no
            // scene, an imported colour that belongs to no known scene.
            try db.execute(sql: """
                CREATE TABLE colour (
                    movie_id TEXT NOT NULL REFERENCES movie(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL CHECK (position >= 0),
                    scene INTEGER,
                    tile INTEGER CHECK (tile BETWEEN 0 AND 5),
                    rank INTEGER CHECK (rank BETWEEN 0 AND 2),
                    r REAL NOT NULL CHECK (r BETWEEN 0 AND 255),
                    g REAL NOT NULL CHECK (g BETWEEN 0 AND 255),
                    b REAL NOT NULL CHECK (b BETWEEN 0 AND 255),
                    share REAL CHECK (share BETWEEN 0 AND 1),
                    PRIMARY KEY (movie_id, position),
                    FOREIGN KEY (movie_id, scene) REFERENCES scene(movie_id, number) ON DELETE CASCADE,
                    CHECK ((scene IS NULL) = (tile IS NULL) AND (scene IS NULL) = (rank IS NULL)
                           AND (scene IS NULL) = (share IS NULL))
                ) WITHOUT ROWID
                """)
            // A cartoon result's own 18 colours (JSON), computed once, for its page.
            try db.execute(sql: """
                CREATE TABLE image_palette (
                    image_id TEXT PRIMARY KEY NOT NULL REFERENCES image(id) ON DELETE CASCADE,
                    colours TEXT NOT NULL
                )
                """)
        }
        migrator.registerMigration("v5: session generations") { db in
            // A session token carries the generation it was issued for; a password change moves
            // the account to the next one, which ends every older session at once (stateless
            // tokens cannot be listed to revoke them one by one).
            try db.execute(sql: """
                ALTER TABLE user ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0
                    CHECK (session_generation >= 0)
                """)
        }
        migrator.registerMigration("v6: sign-in attempts") { db in
            // Sign-in and sign-up attempts, for rate limits that survive a restart. A sign-in is
            // written as failed before its password is checked and cleared when it matches.
            try db.execute(sql: """
                CREATE TABLE auth_attempt (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('login', 'signup')),
                    -- lower-cased; none for sign-ups (the name is not taken yet, or not theirs)
                    username TEXT CHECK ((kind = 'login') = (username IS NOT NULL)),
                    -- an IPv4 address, or an IPv6 /64 prefix ("2001:db8:0:1::/64")
                    address TEXT NOT NULL,
                    at REAL NOT NULL,
                    failed INTEGER NOT NULL CHECK (failed IN (0, 1))
                )
                """)
            try db.execute(sql: "CREATE INDEX auth_attempt_username ON auth_attempt (kind, username, at)")
            try db.execute(sql: "CREATE INDEX auth_attempt_address ON auth_attempt (kind, address, at)")
            try db.execute(sql: "CREATE INDEX auth_attempt_at ON auth_attempt (at)")
        }
        migrator.registerMigration("v7: movie overviews") { db in
            // What a movie page draws of the whole film (fingerprint, plots, hues), computed
            // once and bounded in size; NULL for movies from before, filled on their first view.
            try db.execute(sql: "ALTER TABLE movie ADD COLUMN overview TEXT CHECK (overview IS NULL OR json_valid(overview))")
            // A page of scenes reads its colours by scene number, not the whole movie's.
            try db.execute(sql: "CREATE INDEX colour_scene ON colour (movie_id, scene)")
        }
        migrator.registerMigration("v8: durable jobs") { db in
            // Conversions and movie analyses are rows, not closures in one process's memory: a
            // restart forgets nothing, and any process (a web node, `artworker worker`) can show,
            // run or cancel a job. A worker holds a job through a lease (a random token and an
            // expiry it keeps pushing forward); results are stored only while the token is still
            // the job's (see JobStore.finish), so a worker that lost its job cannot store twice.
            try db.execute(sql: """
                CREATE TABLE job (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) >= 22),
                    kind TEXT NOT NULL CHECK (kind IN ('conversion', 'movie')),
                    owner_id INTEGER REFERENCES user(id) ON DELETE CASCADE,
                    -- visitors without an account are limited by their network address
                    address TEXT CHECK (owner_id IS NULL OR address IS NULL),
                    -- the submitting request's id: what a user quotes and the log records
                    request_id TEXT NOT NULL,
                    parameters TEXT NOT NULL CHECK (json_valid(parameters)),
                    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
                    progress REAL NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    lease TEXT,
                    lease_expires_at DATETIME,
                    cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
                    -- the sentence the owner reads: never an internal error's text
                    error TEXT,
                    results TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(results)),
                    created_at DATETIME NOT NULL,
                    started_at DATETIME,
                    finished_at DATETIME,
                    CHECK ((state = 'running') = (lease IS NOT NULL AND lease_expires_at IS NOT NULL)),
                    CHECK ((state IN ('done', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
                    CHECK ((state = 'failed') = (error IS NOT NULL))
                )
                """)
            // Claiming reads the oldest queued job of a kind; limits count waiting jobs per
            // member and per address; recovery looks for running jobs past their lease.
            try db.execute(sql: "CREATE INDEX job_queue ON job (kind, state, created_at)")
            try db.execute(sql: "CREATE INDEX job_owner ON job (owner_id, state) WHERE owner_id IS NOT NULL")
            try db.execute(sql: "CREATE INDEX job_address ON job (address, state) WHERE address IS NOT NULL")
            try db.execute(sql: "CREATE INDEX job_lease ON job (lease_expires_at) WHERE state = 'running'")
            // The uploads a job works on, stored as picture bytes are; gone when the job ends.
            try db.execute(sql: """
                CREATE TABLE job_input (
                    job_id TEXT NOT NULL REFERENCES job(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL CHECK (position >= 0),
                    name TEXT NOT NULL,
                    bytes BLOB NOT NULL,
                    PRIMARY KEY (job_id, position)
                ) WITHOUT ROWID
                """)
            // However a job ends (finished, failed, cancelled, given up after its attempts),
            // its uploads go in the same transaction: nothing is left behind to clean up.
            try db.execute(sql: """
                CREATE TRIGGER job_ended AFTER UPDATE OF state ON job
                WHEN NEW.state IN ('done', 'failed', 'cancelled') BEGIN
                    DELETE FROM job_input WHERE job_id = NEW.id;
                END
                """)
        }
        migrator.registerMigration("v9: job errors in every language") { db in
            // `error` stays the English sentence (the log, the command line). This is the same
            // reason as the app's catalog message, JSON {"key", "arguments"}, so each reader is
            // told in their own language: Korean to one, English to another.
            try db.execute(sql: """
                ALTER TABLE job ADD COLUMN error_message TEXT
                    CHECK (error_message IS NULL OR (json_valid(error_message) AND error IS NOT NULL))
                """)
        }
        migrator.registerMigration("v10: before pictures") { db in
            // A result page's "before" was the uploaded original, often megabytes for a picture
            // shown at 1280 px. A fourth part, the photo at the result's size, is stored with each
            // new picture; the part check must name it, and SQLite changes a CHECK only by
            // rebuilding the table (https://sqlite.org/lang_altertable.html#otheralter).
            try db.execute(sql: """
                CREATE TABLE image_data_v10 (
                    image_id TEXT NOT NULL REFERENCES image(id) ON DELETE CASCADE,
                    part TEXT NOT NULL CHECK (part IN ('original', 'result', 'thumbnail', 'before')),
                    bytes BLOB NOT NULL,
                    PRIMARY KEY (image_id, part)
                )
                """)
            try db.execute(sql: "INSERT INTO image_data_v10 (image_id, part, bytes) SELECT image_id, part, bytes FROM image_data")
            try db.execute(sql: "DROP TABLE image_data")
            try db.execute(sql: "ALTER TABLE image_data_v10 RENAME TO image_data")
        }
        migrator.registerMigration("v11: one job per form") { db in
            // Each upload form carries a random token; a second POST of the same form (Back,
            // then Submit again) finds the job the first one queued instead of starting another.
            try db.execute(sql: """
                ALTER TABLE job ADD COLUMN submission TEXT
                    CHECK (submission IS NULL OR length(submission) BETWEEN 16 AND 64)
                """)
            try db.execute(sql: "CREATE UNIQUE INDEX job_submission ON job (submission) WHERE submission IS NOT NULL")
        }
        migrator.registerMigration("v12: examples") { db in
            // What a first visit shows: the bundled photos in each style, made by the installed
            // models the first time a worker has them; a model that changes (another hash) makes
            // its examples again.
            try db.execute(sql: """
                CREATE TABLE example (
                    photo TEXT NOT NULL CHECK (length(photo) BETWEEN 1 AND 32),
                    style TEXT NOT NULL CHECK (style IN ('hayao', 'hosoda', 'paprika', 'shinkai')),
                    model_sha256 TEXT NOT NULL CHECK (length(model_sha256) = 64),
                    picture BLOB NOT NULL,
                    created_at DATETIME NOT NULL,
                    PRIMARY KEY (photo, style)
                )
                """)
            // The example movie needs an owner. This account's name has a space (sign-ups allow
            // letters, digits, '.', '_' and '-'), so no one can take it first, and its hash is
            // not one bcrypt can produce ("*" is outside its alphabet), so no one can sign in.
            try db.execute(sql: "INSERT INTO user (username, password_hash, created_at) VALUES (?, ?, ?)",
                           arguments: [Examples.ownerName, Examples.ownerPasswordHash, Date()])
        }
        migrator.registerMigration("v13: visitors keep their results") { db in
            // A visitor's result remembers who made it (a keyed hash of their browser's random
            // cookie value), so signing up from its page moves it into the new account, and
            // no one else can claim it by knowing its address.
            try db.execute(sql: """
                ALTER TABLE image ADD COLUMN visitor TEXT
                    CHECK (visitor IS NULL OR (visibility = 'anonymous' AND length(visitor) = 64))
                """)
        }
        migrator.registerMigration("v14: picture bytes in an object store") { db in
            // With ARTWORKER_BLOB_URL a part's bytes live in the object store under the key its
            // row names; the row keeps no bytes then, and the byte count for the details page.
            try db.execute(sql: """
                ALTER TABLE image_data ADD COLUMN blob TEXT
                    CHECK (blob IS NULL OR (length(blob) > 0 AND length(bytes) = 0))
                """)
            try db.execute(sql: "ALTER TABLE image_data ADD COLUMN size INTEGER CHECK (size IS NULL OR (size >= 0 AND blob IS NOT NULL))")
            try db.execute(sql: "CREATE INDEX image_data_blob ON image_data (blob) WHERE blob IS NOT NULL")
        }
        migrator.registerMigration("v15: clips") { db in
            // A result may be a clip: its MP4 is the result, a still of it the poster, a GIF
            // clip's GIF the animation, "before" the input as the generator saw it (MP4), and
            // the original a video or a GIF. SQLite cannot change a CHECK in place: both tables
            // are rebuilt with every constraint they had (GRDB runs migrations with foreign keys
            // off, so dropping the old `image` cascades nowhere; the like triggers, which name
            // it, are dropped first and made again).
            try db.execute(sql: "DROP TRIGGER image_like_added")
            try db.execute(sql: "DROP TRIGGER image_like_removed")
            try db.execute(sql: """
                CREATE TABLE image_v15 (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) >= 22),
                    owner_id INTEGER REFERENCES user(id) ON DELETE CASCADE,
                    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'public', 'anonymous')),
                    media TEXT NOT NULL DEFAULT 'image' CHECK (media IN ('image', 'video', 'gif')),
                    style TEXT NOT NULL CHECK (style IN ('hayao', 'hosoda', 'paprika', 'shinkai')),
                    strength INTEGER NOT NULL CHECK (strength BETWEEN 0 AND 100),
                    input_width INTEGER NOT NULL CHECK (input_width > 0),
                    input_height INTEGER NOT NULL CHECK (input_height > 0),
                    width INTEGER NOT NULL CHECK (width > 0),
                    height INTEGER NOT NULL CHECK (height > 0),
                    model_sha256 TEXT NOT NULL CHECK (length(model_sha256) = 64),
                    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
                    -- a picture's original is a photo, a clip's a video, a GIF clip's a GIF
                    original_type TEXT NOT NULL CHECK (CASE media
                        WHEN 'image' THEN original_type IN ('image/jpeg', 'image/png')
                        WHEN 'gif' THEN original_type = 'image/gif'
                        ELSE original_type LIKE 'video/%' OR original_type = 'application/octet-stream' END),
                    like_count INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0),
                    created_at DATETIME NOT NULL,
                    expires_at DATETIME,
                    title TEXT NOT NULL DEFAULT '' CHECK (length(title) <= 80),
                    visitor TEXT CHECK (visitor IS NULL OR (visibility = 'anonymous' AND length(visitor) = 64)),
                    CHECK ((visibility = 'anonymous') = (owner_id IS NULL)),
                    CHECK ((visibility = 'anonymous') = (expires_at IS NOT NULL))
                )
                """)
            try db.execute(sql: """
                INSERT INTO image_v15 (id, owner_id, visibility, style, strength, input_width, input_height, width, height,
                                       model_sha256, duration_ms, original_type, like_count, created_at, expires_at, title, visitor)
                SELECT id, owner_id, visibility, style, strength, input_width, input_height, width, height,
                       model_sha256, duration_ms, original_type, like_count, created_at, expires_at, title, visitor FROM image
                """)
            try db.execute(sql: "DROP TABLE image")
            try db.execute(sql: "ALTER TABLE image_v15 RENAME TO image")
            try db.execute(sql: "CREATE INDEX image_owner ON image (owner_id, created_at)")
            try db.execute(sql: "CREATE INDEX image_public ON image (visibility, created_at)")
            try db.execute(sql: "CREATE INDEX image_expiry ON image (expires_at) WHERE expires_at IS NOT NULL")
            try db.execute(sql: """
                CREATE TRIGGER image_like_added AFTER INSERT ON image_like BEGIN
                    UPDATE image SET like_count = like_count + 1 WHERE id = NEW.image_id;
                END
                """)
            try db.execute(sql: """
                CREATE TRIGGER image_like_removed AFTER DELETE ON image_like BEGIN
                    UPDATE image SET like_count = like_count - 1 WHERE id = OLD.image_id;
                END
                """)
            try db.execute(sql: """
                CREATE TABLE image_data_v15 (
                    image_id TEXT NOT NULL REFERENCES image(id) ON DELETE CASCADE,
                    part TEXT NOT NULL CHECK (part IN ('original', 'result', 'thumbnail', 'before', 'poster', 'animation')),
                    bytes BLOB NOT NULL,
                    blob TEXT CHECK (blob IS NULL OR (length(blob) > 0 AND length(bytes) = 0)),
                    size INTEGER CHECK (size IS NULL OR (size >= 0 AND blob IS NOT NULL)),
                    PRIMARY KEY (image_id, part)
                )
                """)
            try db.execute(sql: "INSERT INTO image_data_v15 (image_id, part, bytes, blob, size) SELECT image_id, part, bytes, blob, size FROM image_data")
            try db.execute(sql: "DROP TABLE image_data")
            try db.execute(sql: "ALTER TABLE image_data_v15 RENAME TO image_data")
            try db.execute(sql: "CREATE INDEX image_data_blob ON image_data (blob) WHERE blob IS NOT NULL")
        }
        migrator.registerMigration("v16: scenes from a video") { db in
            // A frame taken from a film's video keeps its place in it, so the movie page can
            // say and link where each scene is; uploaded frames have none.
            try db.execute(sql: "ALTER TABLE scene ADD COLUMN time_ms INTEGER CHECK (time_ms IS NULL OR time_ms >= 0)")
        }
        return migrator
    }

    /// Names of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedIdentifiers(db) }.sorted()
    }
}
