import Foundation
import HTTPServer
import Testing
import TestSupport
import WebApp

extension LoopbackClient {
    func json(_ method: String, _ path: String, body: String? = nil, token: String? = nil) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: t\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        send(head + "\r\n" + (body ?? ""))
        return try response(method: method)
    }
}

func object(_ r: LoopbackClient.Response) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(r.bodyBytes)) as? [String: Any]) ?? [:]
}

@Suite("Accounts API", .serialized)
struct AccountAPITests {
    @Test("sign up, log in, reach /me, log out, be refused")
    func lifecycle() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        let signup = try c.json("POST", "/api/v1/auth/signup", body: #"{"username":"Chihiro","password":"a calm green river"}"#)
        #expect(signup.status == 201 && object(signup)["username"] as? String == "Chihiro" && object(signup)["id"] is String)

        let login = try c.json("POST", "/api/v1/auth/login", body: #"{"username":"chihiro","password":"a calm green river"}"#)
        #expect(login.status == 200 && login.headers["cache-control"] == "no-store")
        let token = try #require(object(login)["token"] as? String)
        #expect((object(login)["expires_at"] as? String)?.hasSuffix("Z") == true)

        let me = try c.json("GET", "/api/v1/me", token: token)
        #expect(me.status == 200 && object(me)["username"] as? String == "Chihiro")

        #expect(try c.json("POST", "/api/v1/auth/logout", token: token).status == 204)
        let after = try c.json("GET", "/api/v1/me", token: token)
        #expect(after.status == 401 && after.headers["content-type"] == "application/json")
        #expect(object(after)["error"] is String && after.headers["www-authenticate"] == "Bearer")
    }

    @Test("sign-up refusals: taken in another case, invalid names and passwords, bad JSON", arguments: [
        (#"{"username":"KIKI","password":"witch delivery service"}"#, 409),
        (#"{"username":"ki","password":"witch delivery service"}"#, 400),
        (#"{"username":"jiji","password":"password123"}"#, 400),
        (#"{"username":"jiji","password":"short"}"#, 400),
        (#"{"username":"jiji"}"#, 400),
        (#"not json"#, 400),
    ])
    func signupRefusals(body: String, status: Int) throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        #expect(try c.json("POST", "/api/v1/auth/signup", body: #"{"username":"kiki","password":"witch delivery service"}"#).status == 201)
        let r = try c.json("POST", "/api/v1/auth/signup", body: body)
        #expect(r.status == status && !(object(r)["error"] as? String ?? "").isEmpty)
    }

    @Test("wrong password and unknown user get the same 401; tokens that are not ours get 401")
    func refusals() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        #expect(try c.json("POST", "/api/v1/auth/signup", body: #"{"username":"haku","password":"spirited away river"}"#).status == 201)
        let wrong = try c.json("POST", "/api/v1/auth/login", body: #"{"username":"haku","password":"not the password"}"#)
        let unknown = try c.json("POST", "/api/v1/auth/login", body: #"{"username":"nobody","password":"not the password"}"#)
        #expect(wrong.status == 401 && unknown.status == 401 && object(wrong)["error"] as? String == object(unknown)["error"] as? String)
        for token in ["", "abc.def.ghi", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwiaWF0IjoxLCJleHAiOjk5OTk5OTk5OTksImp0aSI6IngifQ."] {
            #expect(try c.json("GET", "/api/v1/me", token: token).status == 401)
        }
        // A cookie does not count under /api/ (bearer only).
        let login = try c.json("POST", "/api/v1/auth/login", body: #"{"username":"haku","password":"spirited away river"}"#)
        let token = try #require(object(login)["token"] as? String)
        c.send("GET /api/v1/me HTTP/1.1\r\nHost: t\r\nCookie: session=\(token)\r\n\r\n")
        #expect(try c.response().status == 401)
    }

    @Test("repeated failures are throttled with 429 and Retry-After")
    func throttling() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        _ = try c.json("POST", "/api/v1/auth/signup", body: #"{"username":"yubaba","password":"bathhouse contracts"}"#)
        for _ in 0..<5 {
            #expect(try c.json("POST", "/api/v1/auth/login", body: #"{"username":"yubaba","password":"wrong guess here"}"#).status == 401)
        }
        let limited = try c.json("POST", "/api/v1/auth/login", body: #"{"username":"YUBABA","password":"bathhouse contracts"}"#)
        #expect(limited.status == 429 && Int(limited.headers["retry-after"] ?? "") ?? 0 > 0)
    }

    @Test("pages carry security headers; a form POST without a CSRF token is refused")
    func securityAndCSRF() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let home = try c.response()
        #expect(home.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
        #expect(home.headers["content-security-policy"]?.contains("script-src 'self'") == true)
        #expect(home.headers["x-content-type-options"] == "nosniff" && home.headers["referrer-policy"] != nil)
        c.send("GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try c.response().headers["content-security-policy"] != nil) // error pages too
        c.send("POST /logout HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n")
        let refused = try c.response()
        #expect(refused.status == 403 && refused.body.contains("did not come from this site"))
    }

    @Test("the signing secret is created once, readable by the owner only")
    func secretFile() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let path = data.appendingPathComponent("jwt-secret").path
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600 && (attributes[.size] as? Int) == 32)
    }
}
