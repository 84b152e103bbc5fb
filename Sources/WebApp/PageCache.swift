import Foundation
import HTTPServer
import Localization
import StorageCore
import Synchronization

/// Pages as they were sent, kept until anything is committed to the database.
///
/// A page (the home page, a gallery, a picture) is a function of what the database holds and of
/// the request: its address, the site's origin (the Host it was asked of, unless a public address
/// is configured), the reader's language and who is asking (the session's token, or a visitor's
/// `csrf` cookie: the CSRF token in the page's forms is derived from either). Between two writes
/// the same request would render the same bytes, so they are kept under that key with the
/// `DataVersion` read *before* the page read anything: a later request that reads the same
/// version can be sent them, because nothing was committed in between by any connection,
/// process or node. Any commit makes every kept page stale at once, which is what keeps this
/// simple and safe: no write needs to know which pages it touched.
///
/// Time moves without commits: a page that stops being true at a moment (an anonymous result's,
/// which no one may see once it expires) is kept with that deadline, and not sent after it.
///
/// Not kept: pages carrying a one-time notice, answers that set a cookie (a first visit, whose
/// visitor cookie is new), any status but 200. At most `capacity` bytes are kept; when a page
/// would not fit, everything is dropped and filling starts again (only slower, never wrong).
final class PageCache: Sendable {
    struct Key: Hashable {
        var path: String
        var query: String
        var origin: String
        var language: Language
        /// "s:" + the session token's id, or "v:" + the visitor's csrf cookie.
        var identity: String

        var bytes: Int { path.utf8.count + query.utf8.count + origin.utf8.count + identity.utf8.count }
    }

    private struct Page {
        var response: HTTPResponse
        /// When the page stops being true though nothing was committed; nil: only by a commit.
        var until: Date?
    }

    private struct Kept {
        var version: DataVersion?
        var pages: [Key: Page] = [:]
        var bytes = 0
    }

    /// 16 MiB: a gallery page is ~30 KB, so about 500 pages, kept as long as nothing is written.
    static let defaultCapacity = 16 << 20

    let capacity: Int
    private let version: @Sendable () throws -> DataVersion
    private let kept = Mutex(Kept())

    init(version: @escaping @Sendable () throws -> DataVersion, capacity: Int = PageCache.defaultCapacity) {
        self.version = version
        self.capacity = capacity
    }

    /// The key a request's page is kept under, or nil when it must be rendered afresh.
    /// `origin`: the site's address as the page would write it (`Pages.origin`): the Host only
    /// where no public address is configured, so a stream of made-up Hosts keys nothing new.
    static func key(_ request: Request, language: Language, origin: String) -> Key? {
        guard request.method == "GET" || request.method == "HEAD" else { return nil }
        let cookies = request.cookies
        // The page shows the notice once and clears its cookie.
        guard cookies[Pages.noticeCookie] == nil else { return nil }
        let identity: String
        if let session = request.session {
            identity = "s:" + session.claims.jti
        } else if let seed = cookies[SessionMiddleware.csrfCookie], !seed.isEmpty {
            identity = "v:" + seed
        } else {
            return nil // a first visit: the answer sets a new visitor cookie
        }
        return Key(path: request.path, query: request.http.head.query, origin: origin, language: language, identity: identity)
    }

    /// The page kept for `key`, or `make()`'s, kept for the next request when it may be.
    /// `make` answers the page and, for one that stops being true at a moment, that moment.
    /// `read`: the version this request read before anything else (the session middleware
    /// does), else it is read now. With the database away it cannot be: `make()` then answers
    /// as it would without the cache (it reads the same database).
    func page(_ key: Key, version read: DataVersion? = nil, now: Date = Date(),
              _ make: () throws -> (response: HTTPResponse, until: Date?)) throws -> HTTPResponse {
        guard let mark = read ?? (try? version()) else { return try make().response }
        if let hit = kept.withLock({ $0.version == mark ? $0.pages[key] : nil }), hit.until.map({ now < $0 }) ?? true {
            return hit.response
        }
        let (response, until) = try make()
        guard response.status == .ok, response.stream == nil, !response.headers.contains("Set-Cookie") else { return response }
        let size = response.body.count + key.bytes
        kept.withLock { kept in
            if kept.version != mark || kept.bytes + size > capacity {
                // Pages of another version can never be sent again (or, in a race with a
                // newer request, are only lost work); a full cache starts over.
                kept = Kept(version: mark)
            }
            guard size <= capacity else { return }
            if let old = kept.pages.updateValue(Page(response: response, until: until), forKey: key) {
                kept.bytes -= old.response.body.count + key.bytes
            }
            kept.bytes += size
        }
        return response
    }

    /// How many pages and bytes are kept (for tests).
    var count: (pages: Int, bytes: Int) { kept.withLock { ($0.pages.count, $0.bytes) } }
}
