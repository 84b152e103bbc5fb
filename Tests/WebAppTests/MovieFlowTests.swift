import CZlib
import Foundation
import GRDB
import ImageIO
import Palette
import StorageCore
import StorageSQLite
import Testing
import TestSupport
@testable import WebApp

/// A ZIP archive written the simple way (APPNOTE 6.3: local headers, central directory, end
/// record), with stored or raw-deflated entries; `lie` declares a smaller size than the truth.
func makeZip(_ entries: [(name: String, bytes: [UInt8], deflate: Bool)], lie: Bool = false, badCRC: Bool = false) -> [UInt8] {
    func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16 & 0xFFFF) }
    var out: [UInt8] = [], directory: [UInt8] = []
    for entry in entries {
        var data = entry.bytes
        if entry.deflate {
            var stream = z_stream()
            _ = deflateInit2_(&stream, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            var buffer = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))))
            data.withUnsafeMutableBufferPointer { input in
                buffer.withUnsafeMutableBufferPointer { output in
                    stream.next_in = input.baseAddress
                    stream.avail_in = uInt(input.count)
                    stream.next_out = output.baseAddress
                    stream.avail_out = uInt(output.count)
                    _ = CZlib.deflate(&stream, Z_FINISH)
                }
            }
            data = Array(buffer.prefix(Int(stream.total_out)))
            deflateEnd(&stream)
        }
        var crc = Int(entry.bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) })
        if badCRC { crc ^= 1 }
        let size = lie ? entry.bytes.count / 10 : entry.bytes.count
        let name = Array(entry.name.utf8), method = entry.deflate ? 8 : 0
        let common = u16(20) + u16(0) + u16(method) + u16(0) + u16(0x21) + u32(crc) + u32(data.count) + u32(size) + u16(name.count) + u16(0)
        directory += u32(0x0201_4B50) + u16(20) + common + u16(0) + u16(0) + u16(0) + u32(0) + u32(out.count) + name
        out += u32(0x0403_4B50) + common + name + data
    }
    let offset = out.count
    return out + directory + u32(0x0605_4B50) + u16(0) + u16(0) + u16(entries.count) + u16(entries.count)
        + u32(directory.count) + u32(offset) + u16(0)
}

/// Frames with known colours: 6 tiles (2 × 3), each one flat colour.
enum Frames {
    static let colours: [RGB] = [RGB(200, 30, 40), RGB(240, 200, 60), RGB(40, 150, 70), RGB(30, 90, 200), RGB(150, 60, 170), RGB(230, 230, 220)]

    static func image(bar: Int = 0) -> RGBImage {
        var image = RGBImage(width: 96, height: 64 + 2 * bar, fill: RGB(0, 0, 0))
        for y in 0..<64 { for x in 0..<96 { image[x, y + bar] = colours[(y / 32) * 3 + x / 32] } }
        return image
    }

    static let png = try! ImageEncoder.png(image())
    static let letterboxed = try! ImageEncoder.png(image(bar: 16))
    static let black = try! ImageEncoder.png(RGBImage(width: 96, height: 64, fill: RGB(2, 2, 2)))
}

func storedMovieCounts(_ data: URL) throws -> [Int] {
    let database = try AppDatabase.open(directory: data)
    return try database.pool.read { db in
        try ["movie", "scene", "colour"].map { try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)") ?? -1 }
    }
}

@Suite("Movie palettes end to end", .serialized)
struct MovieFlowTests {
    @Test("frames as files and in a ZIP → a job with progress → a movie with exactly the frames' colours, exported three ways")
    func frames() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("satsuki")
        // Name order, not upload order: frame_2 before frame_10; macOS's metadata is skipped.
        let zip = makeZip([("film/frame_10.png", Frames.black, true), ("film/frame_2.png", Frames.letterboxed, false),
                           ("__MACOSX/film/._frame_2.png", [0, 1, 2], false)])
        let posted = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
            files: [("frame_1.png", Frames.png), ("film.zip", zip)],
            fields: [("title", "Spirited <Away>"), ("year", "2001"), ("director", "Hayao Miyazaki")], field: "frames"))
        #expect(posted.status == 202)
        let job = try #require(object(posted)["id"] as? String)
        #expect(posted.headers["location"] == "/api/v1/movies/jobs/\(job)")
        #expect(try c.send("GET", "/api/v1/movies/jobs/\(job)").status == 404) // a job is its owner's
        let seen = try c.follow("/api/v1/movies/jobs/\(job)", token: token)
        let progress = seen.compactMap { $0["progress"] as? Double }
        #expect(progress == progress.sorted() && progress.last == 1)
        let movieID = try #require(seen.last?["movie"] as? String)

        let movie = object(try c.send("GET", "/api/v1/movies/\(movieID)"))
        #expect(movie["title"] as? String == "Spirited <Away>" && movie["year"] as? Int == 2001 && movie["owner"] as? String == "satsuki")
        #expect(movie["scenes"] as? Int == 3 && movie["colours"] as? Int == 12) // 6 + 6, the fade counts none
        let dominant = try #require(movie["dominant"] as? [[String: Any]])
        let expectedHexes = Set(Frames.colours.map { Colour(r: Double($0.r), g: Double($0.g), b: Double($0.b)).hex })
        #expect(Set(dominant.compactMap { $0["hex"] as? String }) == expectedHexes)
        #expect(dominant.allSatisfy { abs(($0["share"] as? Double ?? 0) - 1.0 / 6) < 1e-9 })

        let json = object(try c.send("GET", "/api/v1/movies/\(movieID)/palette.json"))
        let scenes = try #require(json["scenes"] as? [[String: Any]])
        #expect(scenes.map { $0["flags"] as? [String] ?? ["?"] } == [[], ["letterbox"], ["fade"]])
        let csv = try c.send("GET", "/api/v1/movies/\(movieID)/palette.csv")
        #expect(csv.status == 200 && csv.headers["content-type"] == "text/csv; charset=utf-8")
        #expect(csv.headers["content-disposition"] == #"attachment; filename="Spirited-Away-palette.csv""#)
        let rows = csv.body.split(separator: "\n")
        #expect(rows.count == 13 && rows[1].hasPrefix("1,1,1,200.0,30.0,40.0,") && rows[1].hasSuffix(",#c81e28,1.0"))
        let gpl = (try c.send("GET", "/api/v1/movies/\(movieID)/palette.gpl")).body
        #expect(gpl.hasPrefix("GIMP Palette\nName: Spirited <Away>\n") && gpl.contains("200  30  40\tScene 1 tile 1 #c81e28"))

        // The exported CSV imports back as the same scenes and colours.
        let reimported = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
            files: [("export.csv", csv.bodyBytes)], fields: [("title", "Again")], field: "csv"))
        #expect(reimported.status == 201)
        let again = try #require(object(reimported)["id"] as? String)
        let againCSV = try c.send("GET", "/api/v1/movies/\(again)/palette.csv")
        #expect(againCSV.bodyBytes == csv.bodyBytes)

        // The page: swatches in the frames' colours, every scene, plots, the fade flagged.
        let page = try c.send("GET", "/movies/\(movieID)")
        let html = page.body
        #expect(page.status == 200 && html.contains("<h1>Spirited &lt;Away&gt;</h1>"))
        for hex in expectedHexes { #expect(html.contains(#"fill="\#(hex)""#), "\(hex)") }
        #expect(html.contains(#"id="scene-1""#) && html.contains(#"id="scene-3""#) && html.contains("fade: no colours counted"))
        #expect(html.contains("letterbox bars cut off") && html.contains(#"src="/movies/\#(movieID)/scenes/2.jpg""#))
        #expect(html.contains(#"class="plot3d""#) && html.contains(">Red<") && html.contains(">Saturation<") && html.contains(#"class="hues""#))
        #expect(html.contains(#"class="fingerprint""#) && html.contains("16.7%"))
        #expect(try c.send("GET", "/movies/\(movieID)?turn=3").status == 200)
        #expect(try c.send("GET", "/movies/\(movieID)?turn=left").status == 400)
        let thumbnail = try c.send("GET", "/movies/\(movieID)/scenes/2.jpg")
        #expect(thumbnail.status == 200 && thumbnail.headers["content-type"] == "image/jpeg")
        #expect(try ImageDecoder.info(thumbnail.bodyBytes).width == 96)
        #expect(try c.send("GET", "/movies/\(movieID)/scenes/9.jpg").status == 404)
        let list = (try c.send("GET", "/movies")).body
        #expect(list.contains(#"href="/movies/\#(movieID)""#) && list.contains(##"fill="#c81e28""##))
    }

    @Test("the study's colour file imports whole and ungrouped; the page and the API say so")
    func studyFile() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("satsuki")
        let file = try SharedData.bytes("testdata/palettes/Paprika_BGR.csv")
        let posted = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
            files: [("Paprika_BGR.csv", file)], fields: [("title", "Paprika"), ("year", "2006")], field: "csv"))
        #expect(posted.status == 201)
        let id = try #require(object(posted)["id"] as? String)
        let movie = object(try c.send("GET", "/api/v1/movies/\(id)"))
        #expect(movie["colours"] as? Int == 10_110 && movie["scenes"] as? Int == 0 && movie["source"] as? String == "csv")
        #expect((movie["dominant"] as? [Any])?.count == 10)
        #expect(try storedMovieCounts(data) == [1, 0, 10_110])
        let csv = (try c.send("GET", "/api/v1/movies/\(id)/palette.csv")).body
        let rows = csv.split(separator: "\n")
        #expect(rows.count == 10_111 && rows[1].hasPrefix(",,,127.81233820675291,112.92467788429684,150.13156365833913,"))
        #expect(!csv.contains(",-")) // tiny negatives were clamped to 0
        let html = (try c.send("GET", "/movies/\(id)")).body
        #expect(html.contains("10,110 colours were imported") && !html.contains(#"id="scene-1""#))
        let list = object(try c.send("GET", "/api/v1/movies"))
        #expect((list["movies"] as? [[String: Any]])?.first?["id"] as? String == id)
    }

    @Test("bad uploads get a clear 4xx and store nothing", arguments: [
        (field: "csv", file: "notes.csv", bytes: Array("\u{89}PNG\r\n\u{1A}\n\0\0".utf8), status: 422, says: "not a CSV text file"),
        (field: "csv", file: "colours.csv", bytes: Array("r,g,b\n1,2,3\n".utf8), status: 422, says: "must be the header"),
        (field: "csv", file: "colours.csv", bytes: Array("x,y,z\n1,2,3\n1,two,3\n".utf8), status: 422, says: "Line 3: the green value"),
        (field: "csv", file: "colours.csv", bytes: Array("x,y,z\n".utf8), status: 422, says: "header but no colours"),
        (field: "csv", file: "colours.csv", bytes: Array(" \n".utf8), status: 422, says: "empty"),
        (field: "frames", file: "frame.jpg", bytes: Array("this is not a picture".utf8), status: 422, says: "frame.jpg"),
        (field: "frames", file: "film.zip", bytes: Array(makeZip([("a.png", Frames.png, true)]).dropLast(30)), status: 422, says: "film.zip"),
        (field: "frames", file: "film.zip", bytes: makeZip([("a.png", Frames.png, true)], lie: true), status: 422, says: "declared size"),
        (field: "frames", file: "film.zip", bytes: makeZip([("a.png", Frames.png, false)], badCRC: true), status: 422, says: "CRC"),
        (field: "frames", file: "film.zip", bytes: makeZip([("readme.txt", Array("hi".utf8), false)]), status: 400, says: "Add the movie's frames"),
        (field: "frames", file: "film.zip", bytes: makeZip([("bad.png", Array("not a png".utf8), true)]), status: 422, says: "bad.png"),
    ])
    func badUploads(field: String, file: String, bytes: [UInt8], status: Int, says: String) throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("satsuki")
        let r = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
            files: [(file, bytes)], fields: [("title", "Bad")], field: field))
        #expect(r.status == status)
        let message = object(r)["error"] as? String ?? ""
        #expect(message.contains(says), "\(message)")
        #expect(try storedMovieCounts(data) == [0, 0, 0])
        #expect(try c.send("GET", "/healthz").status == 200)
    }

    @Test("the form's own mistakes: no title, bad year, both sources, nothing, signed out, not multipart")
    func badForms() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let token = try c.member("satsuki")
        let csv = Array("x,y,z\n1,2,3\n".utf8)
        let cases: [(MultipartBody, String?, Int, String)] = [
            (MultipartBody(files: [("c.csv", csv)], fields: [("title", "  ")], field: "csv"), token, 400, "title"),
            (MultipartBody(files: [("c.csv", csv)], fields: [("title", "T"), ("year", "1066")], field: "csv"), token, 400, "1870"),
            (MultipartBody(files: [("f.png", Frames.png)], fields: [("title", "T"), ("csv", "x,y,z\n1,2,3")], field: "frames"), token, 400, "not both"),
            (MultipartBody(fields: [("title", "T")]), token, 400, "Add the movie's frames"),
            (MultipartBody(files: [("c.csv", csv)], fields: [("title", "T")], field: "csv"), nil, 401, "Sign in"),
        ]
        for (body, who, status, says) in cases {
            let r = try c.send("POST", "/api/v1/movies", token: who, multipart: body)
            #expect(r.status == status)
            #expect((object(r)["error"] as? String ?? "").contains(says))
        }
        #expect(try c.json("POST", "/api/v1/movies", body: "{}", token: token).status == 415)
        #expect(try storedMovieCounts(data) == [0, 0, 0])
    }

    @Test("movies are public; only their owner edits or deletes them, through the API and the pages")
    func ownership() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 30)
        let satsuki = try c.member("satsuki"), mei = try c.member("meimei")
        let posted = try c.send("POST", "/api/v1/movies", token: satsuki, multipart: MultipartBody(
            files: [("c.csv", Array("x,y,z\n10,20,30\n200,100,50\n".utf8))], fields: [("title", "Totoro")], field: "csv"))
        let id = try #require(object(posted)["id"] as? String)
        #expect(try c.send("GET", "/movies/\(id)").status == 200) // public, signed out too
        #expect(try c.send("DELETE", "/api/v1/movies/\(id)").status == 401)
        #expect(try c.send("DELETE", "/api/v1/movies/\(id)", token: mei).status == 403)
        #expect(try c.send("DELETE", "/api/v1/movies/unknown-id-00000000000", token: mei).status == 404)

        // The pages, with cookies and CSRF: the owner sees the edit link, edits, then deletes.
        let b = try Browser(port: app.port)
        let login = try #require(Browser.csrf(in: try b.request("GET", "/login").body))
        _ = try b.request("POST", "/login", form: ["username": "satsuki", "password": "a long enough secret phrase", "_csrf": login])
        let page = try b.request("GET", "/movies/\(id)")
        #expect(page.body.contains(#"href="/movies/\#(id)/edit""#))
        // The add form: a bad file re-renders it with the reason and what was typed, storing nothing.
        let newForm = try #require(Browser.csrf(in: try b.request("GET", "/movies/new").body))
        let refused = try b.upload("/movies", MultipartBody(files: [("c.csv", Array("r,g,b\n".utf8))],
                                                            fields: [("_csrf", newForm), ("title", "Totoro & Co"), ("year", "1988")], field: "csv"))
        #expect(refused.status == 422 && refused.body.contains("must be the header"))
        #expect(refused.body.contains(#"value="Totoro &amp; Co""#) && refused.body.contains(#"value="1988""#))
        #expect(try storedMovieCounts(data) == [1, 0, 2])
        let form = try b.request("GET", "/movies/\(id)/edit")
        let csrf = try #require(Browser.csrf(in: form.body))
        #expect(try b.request("POST", "/movies/\(id)/edit", form: ["title": "My Neighbor Totoro", "year": "1988"]).status == 403)
        let badYear = try b.request("POST", "/movies/\(id)/edit", form: ["title": "My Neighbor Totoro", "year": "eighty", "_csrf": csrf])
        #expect(badYear.status == 400 && badYear.body.contains("The year is a number"))
        let edited = try b.request("POST", "/movies/\(id)/edit", form: ["title": "My Neighbor Totoro", "year": "1988", "director": "Studio Ghibli", "_csrf": csrf])
        #expect(edited.status == 303)
        let api = object(try c.send("GET", "/api/v1/movies/\(id)"))
        #expect(api["title"] as? String == "My Neighbor Totoro" && api["year"] as? Int == 1988 && api["director"] as? String == "Studio Ghibli")

        let other = try Browser(port: app.port)
        let otherLogin = try #require(Browser.csrf(in: try other.request("GET", "/login").body))
        _ = try other.request("POST", "/login", form: ["username": "meimei", "password": "a long enough secret phrase", "_csrf": otherLogin])
        #expect(try !other.request("GET", "/movies/\(id)").body.contains("/edit\""))
        #expect(try other.request("GET", "/movies/\(id)/edit").status == 403)

        #expect(try b.request("POST", "/movies/\(id)/delete", form: ["_csrf": csrf]).status == 400)
        let deleted = try b.request("POST", "/movies/\(id)/delete", form: ["confirm": "yes", "_csrf": csrf])
        #expect(deleted.status == 303 && deleted.headers["location"] == "/movies")
        #expect(try c.send("GET", "/movies/\(id)").status == 404 && c.send("GET", "/api/v1/movies/\(id)/palette.csv").status == 404)
        #expect(try storedMovieCounts(data) == [0, 0, 0])
    }

    @Test("a cartoon result shows its own 18 colours and the nearest movie palette with the distance")
    func resultPalette() throws {
        let (app, data) = try startApp()
        defer { app.shutdown(); try? FileManager.default.removeItem(at: data) }
        let c = try LoopbackClient(port: app.port, timeout: 60)
        let token = try c.member("satsuki")
        // An anonymous result: its page is reachable by its id alone.
        let posted = try c.send("POST", "/api/v1/conversions", multipart: MultipartBody(
            files: [("cup.png", Photos.cup)], fields: [("style", "hayao"), ("max_side", "512")]))
        let job = try #require(object(posted)["id"] as? String)
        let image = try #require((try c.follow("/api/v1/conversions/\(job)").last?["images"] as? [String])?.first)
        let before = (try c.send("GET", "/i/\(image)")).body
        #expect(before.contains("<h2>Its colours</h2>") && before.contains("There are no"))

        for (title, colour) in [("Warm", "200,120,60"), ("Cold", "20,60,200")] {
            let r = try c.send("POST", "/api/v1/movies", token: token, multipart: MultipartBody(
                files: [("c.csv", Array("x,y,z\n\(colour)\n".utf8))], fields: [("title", title)], field: "csv"))
            #expect(r.status == 201)
        }
        let after = (try c.send("GET", "/i/\(image)")).body
        // The cup is brown and orange: the warm palette is nearer than the cold one.
        let nearest = try #require(after.range(of: "The nearest movie palette: "))
        #expect(after[nearest.upperBound...].hasPrefix("<a href=\"/movies/") && after[nearest.upperBound...].prefix(80).contains(">Warm</a>"))
        #expect(after.contains(">Warm</a>, colour distance ") && after.contains("(ΔE<sub>00</sub>)")) // the jargon under Details
        let palette = try #require(try SQLiteMovieStore(database: AppDatabase.open(directory: data)).imagePalette(id: image))
        #expect(palette.count >= 6 && palette.count <= 18 && Set(palette.compactMap(\.tile)) == Set(0..<6))
    }
}

@Suite("ZIP archives")
struct ZipArchiveTests {
    @Test("stored and deflated entries come back byte for byte")
    func readsEntries() throws {
        let text = Array(String(repeating: "frame ", count: 5000).utf8)
        let archive = try ZipArchive(makeZip([("a/one.txt", text, true), ("two.png", Frames.png, false)]))
        #expect(archive.entries.map(\.name) == ["a/one.txt", "two.png"])
        #expect(try archive.contents(of: archive.entries[0]) == text && archive.contents(of: archive.entries[1]) == Frames.png)
    }

    @Test("hostile archives are refused in words: bombs, lies, too many entries, too large, not a ZIP")
    func refusals() throws {
        let bomb = makeZip([("bomb.png", [UInt8](repeating: 0, count: 5_000_000), true)])
        #expect(bomb.count < 10_000)
        #expect(throws: ZipArchive.FormatError.self) { try ZipArchive(bomb, limits: .init(maxEntryBytes: 1_000_000)) }
        let liar = try ZipArchive(makeZip([("bomb.png", [UInt8](repeating: 0, count: 100_000), true)], lie: true))
        #expect(throws: ZipArchive.FormatError.self) { try liar.contents(of: liar.entries[0]) }
        let many = makeZip((0..<5).map { ("f\($0).png", [1], false) })
        #expect(throws: ZipArchive.FormatError.self) { try ZipArchive(many, limits: .init(maxEntries: 4)) }
        #expect(throws: ZipArchive.FormatError.self) { try ZipArchive(Array("PK\u{3}\u{4} but nothing else".utf8)) }
    }
}
