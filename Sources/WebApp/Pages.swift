import Auth
import Foundation
import HTTPServer
import Localization
import Markup

/// Renders pages inside the layout with what every page's header needs: who is signed in, a
/// CSRF token for its forms, and the reader's language. Signed-out visitors get a `csrf`
/// cookie the token is tied to.
struct Pages: Sendable {
    let templates: Templates
    let accounts: AccountService
    let secureCookies: Bool
    /// ARTWORKER_PUBLIC_URL, when set.
    var publicURL: String? = nil
    /// Pages kept between writes (nil: every page is rendered for its request).
    var cache: PageCache? = nil

    /// The cookie the language switch sets: an explicit choice outranks `Accept-Language`.
    static let languageCookie = "lang"

    /// A one-time notice for the page a redirect leads to (POST → 303 → GET: "your password was
    /// changed", "you are logged out"), as a short-lived cookie holding one of these catalog
    /// keys; the next page shows it and clears it.
    static let noticeCookie = "notice"
    static let notices: Set<String> = ["notice.welcome", "notice.password_changed", "notice.logged_out", "notice.account_deleted"]

    static func notice(_ key: String, secure: Bool) -> SetCookie {
        precondition(notices.contains(key), "unknown notice \(key)")
        return SetCookie(name: noticeCookie, value: key, maxAge: 60, secure: secure, sameSite: .lax)
    }

    /// The reader's language: the switch's cookie, then `Accept-Language`, then English.
    static func language(of request: HTTPRequest) -> Language {
        Language.choose(cookie: Cookies.parse(request.headers)[languageCookie], acceptLanguage: request.headers["Accept-Language"])
    }

    func language(_ request: Request) -> Language { Self.language(of: request.http) }

    /// The signed-out visitor's key (see CSRFTokens.visitorKey); nil for members and for
    /// clients without the cookie (API callers).
    func visitorKey(_ request: Request) -> String? {
        guard request.session == nil, let seed = request.cookies[SessionMiddleware.csrfCookie], !seed.isEmpty else { return nil }
        return accounts.csrf.visitorKey(seed)
    }

    /// Where this site is, for links that leave it (copied, previewed): the configured public
    /// address, else the scheme the cookies imply and the request's Host (RFC 9110 §7.2), else
    /// the loopback name.
    func origin(_ request: Request) -> String {
        if let publicURL { return publicURL }
        let host = request.headers["Host"].flatMap { h in
            h.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) } && !h.isEmpty ? h : nil
        } ?? "localhost"
        return (secureCookies ? "https://" : "http://") + host
    }

    /// `make`'s page, or the same bytes kept from an earlier request when nothing was committed
    /// to the database since (see `PageCache`). For pages that depend only on the database and
    /// on what `PageCache.Key` holds: the address, the origin, the language, who is asking.
    func cached(_ request: Request, _ make: () throws -> HTTPResponse) throws -> HTTPResponse {
        try cached(request) { (try make(), nil) }
    }

    /// The same for a page that stops being true at a moment (`until`) though nothing is written.
    func cached(_ request: Request, _ make: () throws -> (response: HTTPResponse, until: Date?)) throws -> HTTPResponse {
        guard let cache, let key = PageCache.key(request, language: language(request), origin: origin(request)) else {
            return try make().response
        }
        return try cache.page(key, version: request.dataVersion, make)
    }

    /// Renders template `name` with `page`, the page's own data: one struct per page (the
    /// structs are in PageData.swift). `title` is a message, so it too is in the reader's
    /// language.
    func render(_ name: String, _ title: Message, _ request: Request, page: some Encodable = NoData(), status: HTTPStatus = .ok,
                headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        let language = language(request)
        var context = Self.shared(language: language, request: request.http)
        var visitorSeed: String? = nil
        if let session = request.session {
            context["user"] = .text(session.user.username)
            context["since"] = .text(Dates.day(session.user.createdAt, in: language))
            context["csrf"] = .text(accounts.csrf.token(for: "session:" + session.claims.jti))
        } else {
            let seed = request.cookies[SessionMiddleware.csrfCookie] ?? JWTSigner.randomID()
            if request.cookies[SessionMiddleware.csrfCookie] == nil { visitorSeed = seed }
            context["csrf"] = .text(accounts.csrf.token(for: "visitor:" + seed))
        }
        let notice = request.cookies[Self.noticeCookie]
        if let notice, Self.notices.contains(notice) {
            context["flash"] = .text(Message(notice, ["user": .text(request.session?.user.username ?? "")]).text(in: language))
        }
        var response = HTTPResponse.html(templates.page(name, language: language, title: title.text(in: language), page: Self.value(page),
                                                        shared: context), status: status)
        if notice != nil { response.setCookie(.expired(Self.noticeCookie)) }
        for field in headers { response.headers.set(field.name, field.value) }
        response.headers.set("Cache-Control", "no-store")
        Self.languageHeaders(&response, language)
        if let visitorSeed {
            response.setCookie(SetCookie(name: SessionMiddleware.csrfCookie, value: visitorSeed, secure: secureCookies, sameSite: .strict))
        }
        return response
    }

    /// An error page in the reader's language (the router's renderer calls this; the error
    /// skipped the middleware, so the session is looked up here from the request's token).
    func renderError(_ e: ErrorContext) -> HTTPResponse {
        let language = e.request.map(Self.language(of:)) ?? .fallback
        var context = Self.shared(language: language, request: e.request)
        if let request = e.request,
           let token = SessionMiddleware.token(path: request.path, headers: request.headers),
           // An error page must render even when the database is what failed: signed out then.
           let session = try? accounts.session(token: token) {
            context["user"] = .text(session.user.username)
            context["csrf"] = .text(accounts.csrf.token(for: "session:" + session.claims.jti))
        }
        let error = HTTPError(e.status, e.message, code: e.code, details: e.details)
        let reason = HTTPError.reason(e.status).text(in: language)
        let page = ErrorPage(code: e.status.code, reason: reason,
                             message: error.message(in: language, method: e.request?.method), requestID: e.requestID)
        var response = HTTPResponse.html(templates.page("errors/error", language: language, title: "\(e.status.code) \(reason)",
                                                        page: Self.value(page), shared: context), status: e.status)
        Self.languageHeaders(&response, language)
        return response
    }

    /// A page's struct as its template reads it. The page structs (PageData.swift) use the
    /// compiler's Encodable and the template encoder never throws, so nothing is lost here.
    static func value(_ page: some Encodable) -> TemplateValue {
        ((try? TemplateValue(encoding: page)) ?? nil) ?? .object(TemplateObject())
    }

    /// What every page shares: `lang` for `<html lang>`, and the language switch. (Texts are in
    /// the templates already: `Templates` loads a copy per language.)
    static func shared(language: Language, request: HTTPRequest?) -> TemplateObject {
        let here = request.map(Self.returnPath) ?? "/"
        func choice(_ other: Language) -> TemplateValue {
            .object(TemplateObject([
                .init("code", .text(other.rawValue)), .init("name", .text(other.endonym)), .init("current", .bool(other == language)),
                .init("href", .text("/language/\(other.rawValue)?next=" + Self.queryEscaped(here))),
            ]))
        }
        let next = Language.allCases.first { $0 != language } ?? .fallback
        return TemplateObject([
            .init("lang", .text(language.rawValue)),
            .init("languages", .list(Language.allCases.map(choice))),
            .init("otherLanguage", choice(next)),
        ])
    }

    /// Where the language switch returns to: this page, with only the query parameters that
    /// choose what a listing shows (page, sort, turn). Anything else (a login's `next`, say) is
    /// left out, so no text a link brought along is echoed into the page.
    static func returnPath(_ request: HTTPRequest) -> String {
        let kept = request.queryItems.filter { item in
            ["page", "sort", "turn"].contains(item.name) && (1...12).contains(item.value.count)
                && item.value.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
        let query = kept.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        return LocalRedirect.pathOrHome(request.path + (query.isEmpty ? "" : "?" + query))
    }

    /// RFC 9110 §8.5: the body's language; §12.5.5: the response depends on Accept-Language
    /// and on the cookie that can override it, so a shared cache keys on both.
    static func languageHeaders(_ response: inout HTTPResponse, _ language: Language) {
        response.headers.set("Content-Language", language.rawValue)
        response.headers.set("Vary", "Accept-Language, Cookie")
    }

    /// `text` for a query value: RFC 3986's unreserved characters and "/" as they are, every
    /// other byte of its UTF-8 percent-encoded (§2.1).
    static func queryEscaped(_ text: String) -> String {
        FormData.percentEncoded(text, keeping: queryKept)
    }

    static let queryKept = Set("-._~/".utf8)
}

/// Dates and times as each language writes them, in UTC (and saying so); pages mark them up
/// as `<time datetime>` so the browser's script can show them in the reader's own time zone.
/// Written out by hand: a Foundation date formatter costs ~0.1 ms a call on Linux, and a
/// gallery page shows 24 dates.
enum Dates {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parts(_ date: Date) -> tm {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var t = tm()
        gmtime_r(&time, &t)
        return t
    }

    /// "21 Nov 2026" / "2026년 11월 21일"
    static func day(_ date: Date, in language: Language) -> String {
        let t = parts(date)
        return switch language {
        case .en: "\(t.tm_mday) \(months[Int(t.tm_mon)]) \(t.tm_year + 1900)"
        case .ko: "\(t.tm_year + 1900)년 \(t.tm_mon + 1)월 \(t.tm_mday)일"
        }
    }

    /// "21 Nov 2026, 08:27 UTC" / "2026년 11월 21일 08:27 UTC"
    static func time(_ date: Date, in language: Language) -> String {
        let t = parts(date)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let clock = "\(two(t.tm_hour)):\(two(t.tm_min)) UTC"
        return day(date, in: language) + (language == .en ? ", " : " ") + clock
    }
}
