import Foundation
import HTTPServer

/// Browser sessions: the `session` cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS).
struct SessionPagesController {
    let accounts: AccountService
    let secureCookies: Bool

    func mount(on router: Router) {
        let accounts = self.accounts, secure = secureCookies
        // POST /logout: revoke the token, forget the cookie, go home. (CSRF-checked by the
        // session middleware, so another site cannot sign people out.)
        router.post("/logout") { request in
            if let session = request.session {
                try accounts.signOut(session)
            }
            var response = HTTPResponse.redirect(to: "/")
            response.setCookie(SetCookie(name: SessionMiddleware.sessionCookie, value: "", maxAge: 0, secure: secure))
            response.setCookie(Pages.notice("notice.logged_out", secure: secure))
            return response
        }
    }
}
