import CartoonGAN
import Foundation
import HTTPServer
import Localization

/// The front page (with Artworker's own examples), the examples' pictures, the language
/// switch and the health check.
///
///     GET /   GET /examples/{photo}/{style}.jpg   GET /language/{code}?next=   GET /healthz
struct HomeController {
    let pages: Pages
    let secureCookies: Bool
    let examples: Examples

    func home(_ request: Request) throws -> HTTPResponse {
        let language = pages.language(request)
        let made = (try? examples.available()) ?? [:]
        let sample = made[Examples.sample] ?? []
        let styles = Style.allCases.map { style in
            HomePage.StyleCard(name: ImageLibrary.styleName(style.rawValue, language),
                               about: Message("home.about_\(style.rawValue)").text(in: language),
                               example: sample.contains(style) ? Examples.path(Examples.sample, style) : nil,
                               alt: Message("home.example_alt", ["photo": .message(Message("example.\(Examples.sample)")),
                                                                 "style": .text(ImageLibrary.styleName(style.rawValue, language))])
                                   .text(in: language))
        }
        let rows = Examples.photos.compactMap { photo -> HomePage.Example? in
            guard let styles = made[photo], !styles.isEmpty else { return nil }
            let name = Message("example.\(photo)")
            return HomePage.Example(
                photo: "/static/examples/\(photo).jpg", alt: name.text(in: language),
                credit: Message("example.credit.\(photo)").text(in: language),
                styles: Style.allCases.filter(styles.contains).map { style in
                    let styleName = ImageLibrary.styleName(style.rawValue, language)
                    return .init(src: Examples.path(photo, style), name: styleName,
                                 alt: Message("home.example_alt", ["photo": .message(name), "style": .text(styleName)]).text(in: language))
                })
        }
        return pages.render("home", Message("home.title"), request, page: HomePage(styles: styles, examples: rows, hasExamples: !rows.isEmpty))
    }

    /// An example picture: public, and the same until a model changes (its hash is the ETag).
    func picture(_ request: Request) throws -> HTTPResponse {
        let file = request.parameter("file") ?? ""
        guard let photo = request.parameter("photo"), Examples.photos.contains(photo), file.hasSuffix(".jpg"),
              let style = Style(rawValue: String(file.dropLast(4))),
              let example = try examples.store.picture(photo: photo, style: style.rawValue) else {
            throw HTTPError(.notFound, "There is no page at this address.", code: "not_found")
        }
        let etag = "\"\(example.modelSHA256.prefix(16))\""
        var headers: HTTPHeaders = ["ETag": etag, "Cache-Control": "public, max-age=3600", "Content-Type": "image/jpeg"]
        if request.headers.noneMatchFails(etag) { headers.remove("Content-Type"); return HTTPResponse(status: .notModified, headers: headers) }
        return HTTPResponse(headers: headers, body: [UInt8](example.picture))
    }

    func mount(on router: Router) {
        let c = self
        router.get("/") { request in try c.pages.cached(request) { try c.home(request) } }
        router.get("/examples/:photo/:file") { request in try c.picture(request) }
        // The switch on every page: remembers the choice for a year, then returns to the page
        // it was made on. A GET, as it only sets a preference (nothing to forge), so it works
        // as a plain link without scripting.
        router.get("/language/:code") { request in
            guard let language = Language(rawValue: request.parameter("code") ?? "") else {
                throw HTTPError(.notFound, "There is no page at this address.", code: "not_found")
            }
            var response = HTTPResponse.redirect(to: LocalRedirect.pathOrHome(request.http.query("next")))
            response.setCookie(SetCookie(name: Pages.languageCookie, value: language.rawValue, maxAge: 365 * 24 * 3600,
                                         secure: secureCookies, sameSite: .lax))
            response.headers.set("Cache-Control", "no-store")
            return response
        }
        // For load balancers and monitors: cheap, no database, no templates.
        router.get("/healthz") { _ in
            HTTPResponse(headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
                         body: Array(#"{"status":"ok"}"#.utf8))
        }
    }
}
