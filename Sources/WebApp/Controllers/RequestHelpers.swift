import Foundation
import HTTPServer
import Localization
import Palette
import StorageCore

// What several controllers need from a request or for a response, in one place rather than
// borrowed from one another.

extension Request {
    /// The API caller's session, or 401 with a Bearer challenge (RFC 6750 §3).
    func apiSession() throws -> AccountService.Session {
        guard let session else {
            throw HTTPError(.unauthorized, "Sign in first: send Authorization: Bearer <token>.", code: "api.sign_in_first",
                            details: Message("api.sign_in_first"), headers: ["WWW-Authenticate": "Bearer"])
        }
        return session
    }

    /// The signed-in member's id, for page forms that only members may send.
    func memberID() throws -> Int64 {
        guard let user = session?.user.id else {
            throw Refusal(.wrongCredentials, "auth.members_only")
        }
        return user
    }

    /// A JSON body as `T`: 415 unless it says it is JSON, `invalid` (the sentence the caller
    /// names) when it does not decode.
    func json<T: Decodable>(_ type: T.Type, or refusal: Refusal) throws -> T {
        guard headers["Content-Type"]?.lowercased().hasPrefix("application/json") == true else {
            throw Refusal(.wrongType, "api.json_expected")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw refusal
        }
    }

    /// `?page=N` (1 when absent); anything but a positive number is a 400.
    func pageNumber() throws -> Int {
        guard let text = http.query("page") else { return 1 }
        guard let page = Int(text), (1...100_000).contains(page) else {
            throw Refusal(.invalid, "request.bad_page")
        }
        return page
    }

    /// A form's fields by name (the first of each name).
    func formDictionary() throws -> [String: String] {
        var result: [String: String] = [:]
        for field in try formFields() where result[field.name] == nil { result[field.name] = field.text }
        return result
    }
}

extension LocalRedirect {
    /// Only a path on this site, so a `next` field cannot bounce people elsewhere; else "/".
    static func pathOrHome(_ path: String?) -> String { self.path(path) ?? "/" }
}

extension HTTPResponse {
    /// For answers that change from one moment to the next (job status): never cached.
    static func noStore(_ response: HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers.set("Cache-Control", "no-store")
        return response
    }
}

/// Palette pictures more than one page shows.
enum PaletteViews {
    static func dominantStrip(_ dominant: [StoredColour], title: String, language: Language, width: Int = 600, height: Int = 40) -> String {
        PalettePlots.strip(dominant.map { WeightedColour(Colour(r: $0.r, g: $0.g, b: $0.b), weight: $0.share ?? 0) },
                           width: width, height: height,
                           label: Message("movie.dominant_label", ["title": .text(title)]).text(in: language))
    }
}
