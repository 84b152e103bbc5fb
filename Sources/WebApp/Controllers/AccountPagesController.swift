import Auth
import Foundation
import HTTPServer
import Localization

/// /signup, /login, /account: forms that work without JavaScript, errors shown in place.
struct AccountPagesController {
    let accounts: AccountService
    let pages: Pages
    /// A visitor's result, kept when they sign up from its page.
    let library: ImageLibrary
    let secureCookies: Bool

    func mount(on router: Router) {
        let page = self
        router.get("/signup") { request in
            page.pages.render("auth/signup", Message("signup.title"), request,
                              page: AccountPage(next: LocalRedirect.path(request.http.query("next")), keep: request.http.query("keep")))
        }
        router.addAsync("POST", "/signup", bodyLimit: 16 * 1024) { request in
            let form = try request.formDictionary()
            let username = form["username"] ?? "", password = form["password"] ?? ""
            // Where the visitor was going, else straight to what the product is for.
            let next = LocalRedirect.path(form["next"])
            do {
                let user = try await page.accounts.signUp(username: username, password: password, address: request.http.remoteAddress)
                let (token, _) = try await page.accounts.signIn(username: username, password: password,
                                                                address: request.http.remoteAddress)
                // Signing up from a result's page keeps that result, if this browser made it.
                var landing = next ?? "/cartoonize"
                if let keep = form["keep"], let visitor = page.pages.visitorKey(request), let id = user.id,
                   try page.library.claim(keep, visitor: visitor, owner: id) {
                    landing = "/i/\(keep)"
                }
                var response = page.signedIn(token: token, next: landing)
                response.setCookie(Pages.notice("notice.welcome", secure: page.secureCookies))
                return response
            } catch {
                guard let error = HTTPError.from(error) else { throw error }
                return page.pages.render("auth/signup", Message("signup.title"), request,
                                         page: AccountPage(error: error.message(in: page.pages.language(request)), username: username, next: next,
                                                           keep: form["keep"]),
                                         status: error.status, headers: error.headers)
            }
        }
        router.get("/login") { request in
            page.pages.render("auth/login", Message("login.title"), request, page: AccountPage(next: LocalRedirect.pathOrHome(request.http.query("next"))))
        }
        router.addAsync("POST", "/login", bodyLimit: 16 * 1024) { request in
            let form = try request.formDictionary()
            let username = form["username"] ?? "", next = LocalRedirect.pathOrHome(form["next"])
            do {
                let (token, _) = try await page.accounts.signIn(username: username, password: form["password"] ?? "",
                                                                address: request.http.remoteAddress)
                return page.signedIn(token: token, next: next)
            } catch {
                guard let error = HTTPError.from(error) else { throw error }
                return page.pages.render("auth/login", Message("login.title"), request, page: AccountPage(error: error.message(in: page.pages.language(request)), username: username, next: next),
                                         status: error.status, headers: error.headers)
            }
        }
        router.get("/account") { request in
            guard request.session != nil else { return .redirect(to: "/login?next=%2Faccount") }
            return page.pages.render("auth/account", Message("account.title"), request)
        }
        router.addAsync("POST", "/account/password", bodyLimit: 16 * 1024) { request in
            guard let session = request.session else { return .redirect(to: "/login?next=%2Faccount") }
            let form = try request.formDictionary()
            do {
                let token = try await page.accounts.changePassword(session, current: form["current"] ?? "", new: form["new"] ?? "")
                // Every other session has ended; this one goes on with a token of the new
                // generation. Redirect-after-POST: reloading /account does not send the form again.
                var response = page.signedIn(token: token, next: "/account")
                response.setCookie(Pages.notice("notice.password_changed", secure: page.secureCookies))
                return response
            } catch {
                guard let error = HTTPError.from(error) else { throw error }
                return page.pages.render("auth/account", Message("account.title"), request, page: AccountPage(error: error.message(in: page.pages.language(request))), status: error.status)
            }
        }
        router.addAsync("POST", "/account/delete", bodyLimit: 16 * 1024) { request in
            guard let session = request.session else { return .redirect(to: "/login?next=%2Faccount") }
            let form = try request.formDictionary()
            guard form["confirm"] == "yes" else {
                return page.pages.render("auth/account", Message("account.title"), request,
                                         page: AccountPage(error: Message("form.confirm_delete").text(in: page.pages.language(request))),
                                         status: .badRequest)
            }
            do {
                try await page.accounts.deleteAccount(session, password: form["password"] ?? "")
            } catch {
                guard let error = HTTPError.from(error) else { throw error }
                return page.pages.render("auth/account", Message("account.title"), request, page: AccountPage(error: error.message(in: page.pages.language(request))), status: error.status)
            }
            var response = HTTPResponse.redirect(to: "/")
            response.setCookie(SetCookie(name: SessionMiddleware.sessionCookie, value: "", maxAge: 0, secure: page.secureCookies))
            response.setCookie(Pages.notice("notice.account_deleted", secure: page.secureCookies))
            return response
        }
    }

    func signedIn(token: String, next: String) -> HTTPResponse {
        var response = HTTPResponse.redirect(to: next)
        response.setCookie(sessionCookie(token))
        return response
    }

    func sessionCookie(_ token: String) -> SetCookie {
        SetCookie(name: SessionMiddleware.sessionCookie, value: token, maxAge: Int(accounts.sessionLifetime), secure: secureCookies)
    }
}
