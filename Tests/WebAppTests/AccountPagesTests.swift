import Foundation
import Testing
import TestSupport
import WebApp

/// A tiny browser: keeps cookies, reads the CSRF token out of forms.
final class Browser {
    let client: LoopbackClient
    var cookies: [String: String] = [:]

    init(port: Int) throws { client = try LoopbackClient(port: port) }

    func request(_ method: String, _ path: String, form: [String: String]? = nil) throws -> LoopbackClient.Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: t\r\n"
        if !cookies.isEmpty { head += "Cookie: " + cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") + "\r\n" }
        var body = ""
        if let form {
            body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            head += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n"
        }
        client.send(head + "\r\n" + body)
        let response = try client.response()
        for setCookie in response.setCookies {
            let pair = setCookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if setCookie.contains("Max-Age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
        }
        return response
    }

    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="_csrf" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }
}

@Suite("Account pages", .serialized)
struct AccountPagesTests {
    @Test("sign up, reach a protected page, log out, be refused")
    func browserFlow() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try Browser(port: app.port)
        let form = try b.request("GET", "/signup")
        #expect(form.status == 200 && form.body.contains("3 to 32 letters") && b.cookies["csrf"] != nil)
        let token = try #require(Browser.csrf(in: form.body))

        let signup = try b.request("POST", "/signup", form: ["username": "Sophie", "password": "moving castle door", "_csrf": token])
        // A new member goes where the product starts, greeted once.
        #expect(signup.status == 303 && signup.headers["location"] == "/cartoonize")
        let session = try #require(signup.setCookies.first { $0.hasPrefix("session=") })
        #expect(session.contains("HttpOnly") && session.contains("SameSite=Lax"))
        let sessionCookie = try #require(b.cookies["session"])
        let welcome = try b.request("GET", "/cartoonize")
        #expect(welcome.body.contains("Welcome, Sophie!") && b.cookies["notice"] == nil) // shown once, then cleared
        #expect(try !b.request("GET", "/cartoonize").body.contains("Welcome, Sophie!"))

        let account = try b.request("GET", "/account")
        #expect(account.status == 200 && account.body.contains("Signed in as <strong>Sophie</strong>"))
        let home = try b.request("GET", "/")
        #expect(home.body.contains("Signed in as"))
        // Error pages know who is signed in too (they used to offer "Log in" to members).
        let missing = try b.request("GET", "/no/such/page")
        #expect(missing.status == 404 && missing.body.contains("Signed in as <strong>Sophie</strong>") && !missing.body.contains(">Log in<"))

        let logoutToken = try #require(Browser.csrf(in: account.body))
        let logout = try b.request("POST", "/logout", form: ["_csrf": logoutToken])
        #expect(logout.status == 303 && b.cookies["session"] == nil)
        #expect(try b.request("GET", "/").body.contains("You are logged out."))
        #expect(try b.request("GET", "/account").headers["location"] == "/login?next=%2Faccount")
        b.cookies["session"] = sessionCookie // the old token is revoked, not just forgotten
        #expect(try b.request("GET", "/account").status == 303)
    }

    @Test("errors re-render the form and keep the username; login returns to where you were going")
    func formsInPlace() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try Browser(port: app.port)
        var token = try #require(Browser.csrf(in: try b.request("GET", "/signup").body))
        let weak = try b.request("POST", "/signup", form: ["username": "howl", "password": "password123", "_csrf": token])
        #expect(weak.status == 400 && weak.body.contains("most common") && weak.body.contains(#"value="howl""#))
        _ = try b.request("POST", "/signup", form: ["username": "howl", "password": "calcifer fire demon", "_csrf": token])
        _ = try b.request("POST", "/logout", form: ["_csrf": try #require(Browser.csrf(in: try b.request("GET", "/account").body))])

        token = try #require(Browser.csrf(in: try b.request("GET", "/login?next=/account").body))
        let wrong = try b.request("POST", "/login", form: ["username": "howl", "password": "nope nope nope", "next": "/account", "_csrf": token])
        #expect(wrong.status == 401 && wrong.body.contains("Wrong username or password") && wrong.body.contains(#"value="howl""#))
        let offsite = try b.request("POST", "/login", form: ["username": "howl", "password": "calcifer fire demon", "next": "//evil.example/", "_csrf": token])
        #expect(offsite.status == 303 && offsite.headers["location"] == "/")
        _ = try b.request("POST", "/logout", form: ["_csrf": try #require(Browser.csrf(in: try b.request("GET", "/account").body))])
        token = try #require(Browser.csrf(in: try b.request("GET", "/login").body))
        let back = try b.request("POST", "/login", form: ["username": "HOWL", "password": "calcifer fire demon", "next": "/account", "_csrf": token])
        #expect(back.status == 303 && back.headers["location"] == "/account")
    }

    @Test("change password, then delete the account")
    func accountChanges() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try Browser(port: app.port)
        let token = try #require(Browser.csrf(in: try b.request("GET", "/signup").body))
        _ = try b.request("POST", "/signup", form: ["username": "markl", "password": "wizard apprentice", "_csrf": token])
        var page = try b.request("GET", "/account")
        var csrf = try #require(Browser.csrf(in: page.body))
        let wrongCurrent = try b.request("POST", "/account/password", form: ["current": "guess guess", "new": "turnip head scarecrow", "_csrf": csrf])
        #expect(wrongCurrent.status == 403 && wrongCurrent.body.contains("current password is wrong"))
        let changed = try b.request("POST", "/account/password", form: ["current": "wizard apprentice", "new": "turnip head scarecrow", "_csrf": csrf])
        // Redirect-after-POST: reloading the page that follows sends nothing again.
        #expect(changed.status == 303 && changed.headers["location"] == "/account")
        page = try b.request("GET", "/account")
        #expect(page.body.contains("Your password was changed.") && page.body.contains("markl"))
        csrf = try #require(Browser.csrf(in: page.body))
        let unconfirmed = try b.request("POST", "/account/delete", form: ["password": "turnip head scarecrow", "_csrf": csrf])
        #expect(unconfirmed.status == 400)
        let deleted = try b.request("POST", "/account/delete", form: ["password": "turnip head scarecrow", "confirm": "yes", "_csrf": csrf])
        #expect(deleted.status == 303 && b.cookies["session"] == nil)
        #expect(try b.request("GET", "/").body.contains("Your account and all your pictures were deleted."))
        let c = try LoopbackClient(port: app.port)
        #expect(try c.json("POST", "/api/v1/auth/login", body: #"{"username":"markl","password":"turnip head scarecrow"}"#).status == 401)
    }

    @Test("a token from another session does not pass CSRF")
    func crossSessionCSRF() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let a = try Browser(port: app.port), b = try Browser(port: app.port)
        let tokenA = try #require(Browser.csrf(in: try a.request("GET", "/signup").body))
        _ = try b.request("GET", "/signup")
        let forged = try b.request("POST", "/signup", form: ["username": "noface", "password": "spirited gold nuggets", "_csrf": tokenA])
        #expect(forged.status == 403)
    }
}
