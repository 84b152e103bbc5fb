import Auth
import Foundation
import HTTPServer

/// Renders pages inside the layout with what every page's header needs: who is signed in, and
/// a CSRF token for its forms. Signed-out visitors get a `csrf` cookie the token is tied to.
struct Pages: Sendable {
    let templates: Templates
    let accounts: AccountService
    let secureCookies: Bool


    /// Renders template `name` with `page`, the page's own data: one struct per page (the
    /// structs are in PageData.swift).
    func render(_ name: String, _ title: String, _ request: Request, page: Any = NoData(), status: HTTPStatus = .ok,
                headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var context: [String: Any] = [:]
        var visitorSeed: String? = nil
        context["usernameRule"] = Credentials.usernameRule
        context["passwordRule"] = Credentials.passwordRule
        if let session = request.session {
            context["user"] = session.user.username
            context["since"] = String(ImageLibrary.timestamp(session.user.createdAt).prefix(10))
            context["csrf"] = accounts.csrf.token(for: "session:" + session.claims.jti)
        } else {
            let seed = request.cookies[SessionMiddleware.csrfCookie] ?? JWTSigner.randomID()
            if request.cookies[SessionMiddleware.csrfCookie] == nil { visitorSeed = seed }
            context["csrf"] = accounts.csrf.token(for: "visitor:" + seed)
        }
        var response = HTTPResponse.html(templates.page(name, title: title, page: page, shared: context), status: status)
        for field in headers { response.headers.set(field.name, field.value) }
        response.headers.set("Cache-Control", "no-store")
        if let visitorSeed {
            response.setCookie(SetCookie(name: SessionMiddleware.csrfCookie, value: visitorSeed, secure: secureCookies, sameSite: .strict))
        }
        return response
    }
}
