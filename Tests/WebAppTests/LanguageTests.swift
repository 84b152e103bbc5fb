import Foundation
import Testing
import TestSupport
import WebApp

/// Issue 15: every page, refusal and download in Korean and in English.
@Suite("Korean and English", .serialized)
struct LanguageTests {
    @Test("Accept-Language chooses the pages' language; <html lang>, Content-Language and Vary follow", arguments: [
        ("ko-KR,ko;q=0.9,en;q=0.8", "ko", "사진을 애니메이션 그림으로 바꿔 보세요", "만화로 바꾸기"),
        ("en-US,en;q=0.9,ko;q=0.5", "en", "Turn your photos into anime-style pictures", "Cartoonize"),
        ("fr-FR", "en", "Turn your photos into anime-style pictures", "Cartoonize"),
    ])
    func acceptLanguage(field: String, lang: String, heading: String, nav: String) throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        let home = try c.send("GET", "/", headers: ["Accept-Language": field])
        #expect(home.body.contains("<html lang=\"\(lang)\">") && home.body.contains(heading) && home.body.contains(">\(nav)</a>"))
        #expect(home.headers["content-language"] == lang && home.headers["vary"]?.contains("Accept-Language") == true)
    }

    @Test("every page in Korean: no English left in the main pages", arguments: [
        "/", "/cartoonize", "/explore", "/movies", "/login", "/signup", "/nope",
    ])
    func koreanPages(path: String) throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        let page = try c.send("GET", path, headers: ["Accept-Language": "ko"])
        // What a reader sees: the text between tags, without the brand, code, formats and style ids.
        let visible = page.body.replacingOccurrences(of: #"<[^>]+>"#, with: " ", options: .regularExpression)
        let allowed = Set(["Artworker", "CartoonGAN", "Chen", "Lai", "Liu", "CVPR", "JPEG", "PNG", "MB", "px", "English",
                           "ID", "make", "weights", "RGB", "HSV", "CSV", "ZIP", "GIMP", "frame_2", "frame_10", "x", "y", "z",
                           // file formats are their names in every language
                           "MP4", "MOV", "WebM", "MKV", "GIF"])
        let words = visible.split { !$0.isLetter && $0 != "_" && !$0.isNumber }.map(String.init)
            .filter { $0.unicodeScalars.allSatisfy(\.isASCII) && $0.contains { $0.isLetter } }
        let english = words.filter { !allowed.contains(String($0.drop { $0.isNumber })) } // "512px"
        #expect(english.isEmpty, "\(path): \(english)")
        #expect(page.body.contains("<html lang=\"ko\">"))
    }

    @Test("the switch on every page sets a cookie that outranks Accept-Language, then returns to the page")
    func languageSwitch() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        let movies = try c.send("GET", "/movies?page=1", headers: ["Accept-Language": "en"])
        #expect(movies.body.contains(#"href="/language/ko?next=/movies%3Fpage%3D1""#))
        let switched = try c.send("GET", "/language/ko?next=/movies%3Fpage%3D1")
        #expect(switched.status == 303 && switched.headers["location"] == "/movies?page=1")
        let cookie = try #require(switched.headers["set-cookie"])
        #expect(cookie.hasPrefix("lang=ko;") && cookie.contains("Max-Age=31536000") && cookie.contains("SameSite=Lax"))
        let korean = try c.send("GET", "/movies", headers: ["Accept-Language": "en", "Cookie": "lang=ko"])
        #expect(korean.body.contains("<html lang=\"ko\">") && korean.body.contains("영화 색채 분석"))
        #expect(korean.body.contains(#"href="/language/en?next=/movies""#))
        // Elsewhere is not a place to return to; an unknown language is no page.
        #expect(try c.send("GET", "/language/en?next=//evil.example/").headers["location"] == "/")
        #expect(try c.send("GET", "/language/xx").status == 404)
    }

    @Test("error pages and the API's errors speak the reader's language; API errors carry a stable code")
    func errors() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port)
        let page = try c.send("GET", "/no/such/page", headers: ["Accept-Language": "ko"])
        #expect(page.status == 404 && page.body.contains("404 — 찾을 수 없음") && page.body.contains("이 주소에는 페이지가 없습니다."))
        #expect(page.body.contains("요청 ID:"))
        let english = try c.send("GET", "/no/such/page")
        #expect(english.body.contains("404 — Not Found") && english.body.contains("There is no page at this address."))
        for (language, sentence) in [("ko", "사진은 multipart/form-data로 보내세요."), ("en", "Send the photos as multipart/form-data.")] {
            let r = try c.send("POST", "/api/v1/conversions", headers: ["Accept-Language": language, "Content-Type": "text/plain",
                                                                       "Content-Length": "0"])
            let body = object(r)
            #expect(r.status == 415 && body["code"] as? String == "upload.not_multipart" && body["error"] as? String == sentence)
        }
        let missing = object(try c.send("GET", "/api/v1/images/nope", headers: ["Accept-Language": "ko-KR"]))
        #expect(missing["code"] as? String == "image.not_found" && missing["error"] as? String == "그림이 없거나, 볼 권한이 없는 그림입니다.")
        let unknownRoute = object(try c.send("GET", "/api/v1/nothing", headers: ["Accept-Language": "ko"]))
        #expect(unknownRoute["code"] as? String == "not_found" && unknownRoute["error"] as? String == "이 주소에는 페이지가 없습니다.")
    }

    @Test("a refused form says why in the reader's language, with the counts in place")
    func refusalsInForms() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let b = try Browser(port: app.port)
        b.cookies["lang"] = "ko"
        let form = try b.request("GET", "/signup")
        let token = try #require(Browser.csrf(in: form.body))
        let short = try b.request("POST", "/signup", form: ["username": "mei", "password": "short", "_csrf": token])
        #expect(short.status == 400 && short.body.contains("비밀번호는 10자 이상이어야 합니다."))
        let badName = try b.request("POST", "/signup", form: ["username": "_xyz", "password": "a calm green river", "_csrf": token])
        #expect(badName.body.contains("아이디는 영문자나 숫자로 시작해야 합니다.") && badName.body.contains("value=\"_xyz\""))
        b.cookies["lang"] = "en"
        let english = try b.request("POST", "/signup", form: ["username": "mei", "password": "short", "_csrf": token])
        #expect(english.body.contains("A password has at least 10 characters."))
    }

    @Test("우리집 고양이.png and 고양이.jpg keep their Korean titles, on pages and in downloaded file names")
    func koreanFileNames() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 60)
        let token = try c.member("satsuki")
        let posted = try c.send("POST", "/api/v1/conversions", token: token, multipart: MultipartBody(
            files: [("우리집 고양이.png", Photos.cup), ("고양이.jpg", Photos.cupJPEG)], fields: [("style", "hayao"), ("max_side", "96")]))
        #expect(posted.status == 202)
        let job = try #require(object(posted)["id"] as? String)
        let final = try #require(try c.follow("/api/v1/conversions/\(job)", token: token, headers: ["Accept-Language": "ko"]).last)
        #expect(final["status_text"] as? String == "완료")
        let ids = try #require(final["images"] as? [String])
        #expect(ids.count == 2)
        var titles: [String: String] = [:]
        for id in ids {
            let title = try #require(object(try c.send("GET", "/api/v1/images/\(id)", token: token))["title"] as? String)
            titles[title] = id
        }
        #expect(Set(titles.keys) == ["우리집 고양이", "고양이"])
        for (title, id) in titles {
            let png = try c.send("GET", "/api/v1/images/\(id)/result?format=png&download=1", token: token)
            let disposition = try #require(png.headers["content-disposition"])
            // RFC 6266: an ASCII fallback first, then the UTF-8 name (RFC 8187) browsers use.
            let fallback = "artworker-hayao-\(id.prefix(8)).png" // no ASCII letters in either title
            #expect(disposition.hasPrefix("attachment; filename=\"\(fallback)\"; filename*=UTF-8''"))
            let encoded = String(disposition.split(separator: "'").last ?? "")
            #expect(encoded.removingPercentEncoding == "\(title)-hayao.png", "\(disposition)")
            let page = try c.send("GET", "/i/\(id)", headers: ["Accept-Language": "ko", "Cookie": "session=\(token)"])
            #expect(page.body.contains("<h1>\(title) — 하야오 화풍</h1>") && page.body.contains("download=\"\(title)-hayao.png\""))
        }
    }
}
