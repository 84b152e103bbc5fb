import Foundation
import HTTPServer

/// The account API (a contract other tools rely on): JSON bodies, bearer tokens.
///
///     POST /api/v1/auth/signup {"username","password"} → 201 {"id","username"} | 409 | 400
///     POST /api/v1/auth/login  {"username","password"} → 200 {"token","expires_at"} | 401 | 429
///     POST /api/v1/auth/logout                          → 204 (the token is refused afterwards)
///     GET  /api/v1/me                                   → 200 {"id","username"} | 401
struct AuthAPIController {
    let accounts: AccountService

    struct Credentials: Decodable {
        var username: String
        var password: String
    }

    struct UserBody: Encodable {
        var id: String
        var username: String
    }

    struct TokenBody: Encodable {
        var token: String
        var expires_at: String
    }

    static func credentials(_ request: Request) throws -> Credentials {
        try request.json(Credentials.self, or: Refusal(.invalid, "api.credentials_expected"))
    }

    func mount(on router: Router) {
        let accounts = self.accounts
        router.addAsync("POST", "/api/v1/auth/signup", bodyLimit: 16 * 1024) { request in
            let body = try Self.credentials(request)
            let user = try await accounts.signUp(username: body.username, password: body.password,
                                                 address: request.http.remoteAddress)
            return .json(UserBody(id: String(user.id!), username: user.username), status: .created)
        }
        router.addAsync("POST", "/api/v1/auth/login", bodyLimit: 16 * 1024) { request in
            let body = try Self.credentials(request)
            let (token, session) = try await accounts.signIn(username: body.username, password: body.password,
                                                             address: request.http.remoteAddress)
            let expiry = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(session.claims.exp)))
            var response = HTTPResponse.json(TokenBody(token: token, expires_at: expiry))
            response.headers.set("Cache-Control", "no-store")
            return response
        }
        router.add("POST", "/api/v1/auth/logout") { request in
            try accounts.signOut(try request.apiSession())
            return HTTPResponse(status: .noContent)
        }
        router.get("/api/v1/me") { request in
            let session = try request.apiSession()
            return .json(UserBody(id: String(session.user.id!), username: session.user.username))
        }
    }
}
