import Foundation

// What the product keeps, as protocols over plain models. Two backends implement them:
// StorageSQLite (GRDB, the embedded default) and StoragePostgres (libpq). One contract test
// suite (Tests/StorageTests) runs against both, so the web layer can rely on the behaviour
// written here whichever is configured.

/// The backend cannot be reached just now (a restarting PostgreSQL, a failover in progress).
/// Nothing was changed; the web layer answers 503 with Retry-After, and the same request may
/// succeed a moment later.
public struct StorageUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "the database is unavailable: \(reason)" }
}

public enum UserStoreError: Error, Equatable, Sendable {
    case usernameTaken
}

/// Accounts: create, find, change password, delete.
public protocol UserStore: Sendable {
    /// Creates the account, or throws `.usernameTaken` when the name exists in any letter case.
    func create(username: String, passwordHash: String) throws -> User
    /// The account with this name in any letter case.
    func find(username: String) throws -> User?
    func find(id: Int64) throws -> User?
    /// Sets a new password hash and moves the account to its next session generation, in one
    /// transaction, so every session issued before the change stops working; returns the new
    /// generation (the caller issues the one session that made the change anew).
    @discardableResult
    func updatePasswordHash(id: Int64, to hash: String) throws -> Int
    /// Deletes the account; what references it (images, likes, movies, jobs) goes with it.
    func delete(id: Int64) throws
}

/// Session tokens revoked before their expiry (logout).
public protocol RevokedTokenStore: Sendable {
    func revoke(tokenID: String, expiresAt: Date) throws
    func isRevoked(_ tokenID: String) throws -> Bool
    /// Forgets revocations of tokens that have expired anyway; returns how many.
    @discardableResult
    func purgeExpired(now: Date) throws -> Int
}

/// Sign-in and sign-up attempts, counted in the database so that limits hold across restarts
/// and across processes, and reserved *before* the slow password hash runs: an attempt is
/// written as a failure first and only turned into a success once the password matched, so
/// forty requests sent at once see each other. The arithmetic is `AuthAttempts`' (shared).
public protocol AuthAttemptStore: Sendable {
    /// Checks the limits and, if they allow it, records the attempt as a failure — one
    /// transaction, so concurrent attempts are counted one after another.
    func reserveLogin(username: String, address: String, policy: AuthAttempts.LoginPolicy, now: Date) throws -> AuthAttempts.Decision
    /// The password matched: this attempt was no failure, and the username's earlier failures
    /// no longer slow anyone down.
    func loginSucceeded(attempt: Int64, username: String) throws
    /// Checks and records a sign-up from `address` (before its password is hashed).
    func reserveSignup(address: String, policy: AuthAttempts.SignupPolicy, now: Date) throws -> AuthAttempts.Decision
}

extension AuthAttemptStore {
    public func reserveLogin(username: String, address: String, policy: AuthAttempts.LoginPolicy = .init(),
                             now: Date = Date()) throws -> AuthAttempts.Decision {
        try reserveLogin(username: username, address: address, policy: policy, now: now)
    }

    public func reserveSignup(address: String, policy: AuthAttempts.SignupPolicy = .init(), now: Date = Date()) throws -> AuthAttempts.Decision {
        try reserveSignup(address: address, policy: policy, now: now)
    }
}

extension RevokedTokenStore {
    @discardableResult
    public func purgeExpired() throws -> Int { try purgeExpired(now: Date()) }
}

/// Images: store, fetch, list, share, like, delete. Every read takes the viewer (a user id,
/// or nil when signed out) and returns nothing for images that viewer may not see: private
/// images of others, and anonymous results past their expiry (even before they are purged).
public protocol ImageStore: Sendable {
    /// Stores several images in one transaction: all of them, or none.
    func insertAll(_ images: [Image]) throws
    /// The whole image (bytes included), but only if `viewer` may see it.
    func find(id: String, viewer: Int64?, now: Date) throws -> Image?
    /// Metadata without bytes, if `viewer` may see the image.
    func details(id: String, viewer: Int64?, now: Date) throws -> ImageDetails?
    /// One of the image's stored pictures (only those bytes are read), if `viewer` may see it.
    func bytes(_ part: ImageBytes.Part, id: String, viewer: Int64?, now: Date) throws -> ImageBytes?
    /// A member's own images, newest first, `ImagePages.size` at a time.
    func list(owner: Int64, page: Int) throws -> ImagePage
    /// Shared images, by newest, most liked, or style (then newest); of one style only when
    /// `style` is given.
    func listPublic(order: PublicOrder, style: String?, page: Int) throws -> ImagePage
    /// Share or unshare an own image; false if it is not the member's.
    func setShared(_ shared: Bool, id: String, owner: Int64) throws -> Bool
    /// Moves a visitor's results into the account they just made: only results still within
    /// their expiry and made by the same visitor (`visitor` key); they become private and
    /// lasting. Returns how many moved.
    func claim(_ ids: [String], visitor: String, owner: Int64, now: Date) throws -> Int
    /// Gives the owner's image a new title; false when it is not theirs.
    func setTitle(_ title: String, id: String, owner: Int64) throws -> Bool
    /// One like per member on a public image, toggled; returns the new count, or nil if the
    /// image is not public.
    func setLiked(_ liked: Bool, id: String, user: Int64) throws -> Int?
    /// Which of `ids` the member has liked.
    func liked(by user: Int64, among ids: [String]) throws -> Set<String>
    /// Deletes an own image (its likes go with it); false if it is not the member's.
    func delete(id: String, owner: Int64) throws -> Bool
    /// Removes anonymous results past their expiry; returns how many.
    @discardableResult
    func purgeExpired(now: Date) throws -> Int
    /// Which of these object-store keys some row still names (for `Blobs.sweep`).
    func referencedBlobs(among keys: [String]) throws -> Set<String>
}

extension ImageStore {
    public typealias PublicOrder = StorageCore.PublicOrder
    public static var pageSize: Int { ImagePages.size }

    public func insert(_ image: Image) throws { try insertAll([image]) }
    public func find(id: String, viewer: Int64?) throws -> Image? { try find(id: id, viewer: viewer, now: Date()) }
    public func details(id: String, viewer: Int64?) throws -> ImageDetails? { try details(id: id, viewer: viewer, now: Date()) }
    public func bytes(_ part: ImageBytes.Part, id: String, viewer: Int64?) throws -> ImageBytes? {
        try bytes(part, id: id, viewer: viewer, now: Date())
    }
    public func listPublic(order: PublicOrder, page: Int) throws -> ImagePage { try listPublic(order: order, style: nil, page: page) }
    public func claim(_ ids: [String], visitor: String, owner: Int64) throws -> Int {
        try claim(ids, visitor: visitor, owner: owner, now: Date())
    }
    @discardableResult
    public func purgeExpired() throws -> Int { try purgeExpired(now: Date()) }
}

/// How lists are paged: the same page size for every backend and list.
public enum ImagePages {
    public static let size = 24

    /// `rows` holds up to one row more than a page (asked for `size + 1`): whether another
    /// page follows.
    public static func page(_ rows: [ImageSummary], number: Int) -> ImagePage {
        ImagePage(items: Array(rows.prefix(size)), page: number, hasMore: rows.count > size)
    }
}

/// Movies: public to read; created, edited and deleted by their owner only.
public protocol MovieStore: Sendable {
    /// Stores a movie with its scenes and colours in one transaction: all of it, or nothing.
    func insert(_ movie: NewMovie, now: Date) throws
    /// Every movie, newest first, a page at a time; and whether another page follows.
    func list(page: Int) throws -> (items: [MovieSummary], hasMore: Bool)
    /// Every movie's dominant palette (for "the nearest movie" comparisons), oldest first.
    func all() throws -> [MovieSummary]
    func find(id: String) throws -> MovieSummary?
    /// The movie's scenes in order, and its colours in order (scene colours, then ungrouped).
    func contents(id: String) throws -> (scenes: [MovieScene], colours: [MovieColour])
    /// One page of a movie's scenes in order, with their colours, and whether more follow.
    func scenes(id: String, page: Int, perPage: Int) throws -> (scenes: [MovieScene], colours: [MovieColour], hasMore: Bool)
    /// The stored overview (JSON), or nil for a movie stored before there were overviews.
    func overview(id: String) throws -> String?
    func setOverview(id: String, json: String) throws
    func thumbnail(movie: String, scene: Int) throws -> Data?
    /// Changes an own movie's metadata; false if it is not the member's (or does not exist).
    func update(id: String, owner: Int64, info: MovieInfo, now: Date) throws -> Bool
    /// Deletes an own movie with its scenes and colours; false if it is not the member's.
    func delete(id: String, owner: Int64) throws -> Bool
    /// A cartoon result's own palette, once computed.
    func imagePalette(id: String) throws -> [MovieColour]?
    /// Remembers a result's palette (replacing an earlier one); nothing if the image is gone.
    func setImagePalette(id: String, colours: [MovieColour]) throws
}

extension MovieStore {
    public static var pageSize: Int { ImagePages.size }
    public func insert(_ movie: NewMovie) throws { try insert(movie, now: Date()) }
    public func update(id: String, owner: Int64, info: MovieInfo) throws -> Bool {
        try update(id: id, owner: owner, info: info, now: Date())
    }
}

/// The home page's before/after examples: each bundled photo cartoonized in each style by the
/// model installed now, and the account that owns the example movie.
public protocol ExampleStore: Sendable {
    /// Which styles each photo has an example in, made by the model with that hash.
    func made() throws -> [String: [String: String]]
    /// Stores (or replaces, after a model changed) one example picture (JPEG).
    func put(photo: String, style: String, modelSHA256: String, picture: Data, now: Date) throws
    /// One example picture (JPEG) and the hash of the model that made it.
    func picture(photo: String, style: String) throws -> (picture: Data, modelSHA256: String)?
    /// The examples' account id (made by the schema's migrations).
    func ownerID() throws -> Int64
    /// Whether the example movie has been stored (any movie of the examples' account).
    func hasMovie() throws -> Bool
}

extension ExampleStore {
    public static var ownerName: String { Examples.ownerName }
    public func put(photo: String, style: String, modelSHA256: String, picture: Data) throws {
        try put(photo: photo, style: style, modelSHA256: modelSHA256, picture: picture, now: Date())
    }
}

public enum Examples {
    /// The account that owns what Artworker makes by itself. Its name has a space, which no
    /// sign-up may use, and its password hash is one bcrypt can never match.
    public static let ownerName = "Artworker examples"
    public static let ownerPasswordHash = "$2b$12$" + String(repeating: "*", count: 53)
}

/// A mark of everything committed to the database so far, by any connection, process or node:
/// two marks read at different times are equal only if nothing was committed in between. A
/// process may keep what it derived from the database (a rendered page) for as long as the mark
/// it read before deriving it is still the current one. Marks compare only within one process's
/// `Stores` (each backend's mark is local to the connection it is read on).
public struct DataVersion: Hashable, Sendable {
    public let mark: String
    public init(_ mark: String) { self.mark = mark }
}

/// Every store of one backend, opened together by the composition root.
public struct Stores: Sendable {
    public var users: any UserStore
    public var revokedTokens: any RevokedTokenStore
    public var attempts: any AuthAttemptStore
    public var images: any ImageStore
    public var movies: any MovieStore
    public var examples: any ExampleStore
    /// The job queue with these settings (each process chooses its lease and attempts).
    public var makeJobs: @Sendable (JobSettings) -> any JobStore
    /// Names of the migrations applied, in order (for `artworker doctor` and tests).
    public var appliedMigrations: @Sendable () throws -> [String]
    /// Which backend this is, for logs ("sqlite …/artworker.sqlite", "postgresql host:port/db").
    public var description: String
    /// How often idle workers look at the queue. Short where looking is a read of a local
    /// file; longer on a shared server, where `listenForJobs` wakes them sooner anyway.
    public var pollInterval: TimeInterval
    /// Calls `wake` whenever a job is queued by any process, until the returned function is
    /// called; nil where the backend cannot tell (SQLite: the web process nudges its own
    /// workers, and workers in other processes poll).
    public var listenForJobs: (@Sendable (_ wake: @escaping @Sendable () -> Void) -> @Sendable () -> Void)?
    /// Runs `body` only if no other process is running the task of that name now (returns
    /// whether it ran): housekeeping that one node of many should do, such as the expiry sweep.
    public var exclusively: @Sendable (_ task: String, _ body: () throws -> Void) throws -> Bool
    /// The object store pictures' bytes go to, or nil: in the database.
    public var blobs: (any BlobStore)?
    /// The database's `DataVersion` now; nil where the backend cannot tell (then nothing may be
    /// kept across requests).
    public var dataVersion: (@Sendable () throws -> DataVersion)?

    public init(users: any UserStore, revokedTokens: any RevokedTokenStore, attempts: any AuthAttemptStore,
                images: any ImageStore, movies: any MovieStore, examples: any ExampleStore,
                makeJobs: @escaping @Sendable (JobSettings) -> any JobStore,
                appliedMigrations: @escaping @Sendable () throws -> [String], description: String, pollInterval: TimeInterval = 0.25,
                listenForJobs: (@Sendable (_ wake: @escaping @Sendable () -> Void) -> @Sendable () -> Void)? = nil,
                exclusively: @escaping @Sendable (_ task: String, _ body: () throws -> Void) throws -> Bool = { _, body in try body(); return true },
                blobs: (any BlobStore)? = nil, dataVersion: (@Sendable () throws -> DataVersion)? = nil) {
        self.users = users
        self.revokedTokens = revokedTokens
        self.attempts = attempts
        self.images = images
        self.movies = movies
        self.examples = examples
        self.makeJobs = makeJobs
        self.appliedMigrations = appliedMigrations
        self.description = description
        self.pollInterval = pollInterval
        self.listenForJobs = listenForJobs
        self.exclusively = exclusively
        self.blobs = blobs
        self.dataVersion = dataVersion
    }

    public func jobs(_ settings: JobSettings = JobSettings()) -> any JobStore { makeJobs(settings) }

    /// Removes pictures' bytes that no row names any more and that were stored more than
    /// `grace` ago (see `Blobs.sweep`); 0 without an object store.
    @discardableResult
    public func sweepBlobs(grace: TimeInterval) throws -> Int {
        guard let blobs else { return 0 }
        return try Blobs.sweep(blobs, referenced: { try images.referencedBlobs(among: $0) }, grace: grace)
    }
}
