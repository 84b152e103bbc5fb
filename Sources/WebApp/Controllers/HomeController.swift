import HTTPServer
import Localization

/// The front page, the language switch and the health check.
struct HomeController {
    let pages: Pages
    let secureCookies: Bool

    func mount(on router: Router) {
        router.get("/") { request in
            let language = pages.language(request)
            return pages.render("home", Message("home.title"), request, page: HomePage(styles: ["hayao", "hosoda", "paprika", "shinkai"].map {
                .init(name: ImageLibrary.styleName($0, language), about: Message("home.about_\($0)").text(in: language))
            }))
        }
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
