import Foundation
import ImageIO
import StorageCore
import StorageSQLite
import Testing
import TestSupport

@Suite("artworker palette")
struct PaletteCommandTests {
    @Test("a frame's 18 colours, as text and as CSV")
    func analyse() throws {
        let photo = CLI.shared.appendingPathComponent("testdata/photos/coffee.png").path
        let text = try CLI.run(["palette", photo])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.first == "\(photo): 600×400")
        #expect(lines.filter { $0.hasPrefix("  tile ") }.count == 18)
        #expect(lines.contains { $0.hasPrefix("  tile 6  rank 3  #") })

        let csv = try CLI.run(["palette", "--csv", photo, photo])
        let rows = csv.stdout.split(separator: "\n")
        #expect(csv.status == 0 && rows.first == "scene,tile,rank,r,g,b,h,s,v,hex,share" && rows.count == 37)
        #expect(rows[1].hasPrefix("1,1,1,") && rows[19].hasPrefix("2,1,1,"))
        #expect(rows[1].split(separator: ",").dropFirst(3) == rows[19].split(separator: ",").dropFirst(3)) // reproducible
    }

    @Test("unreadable frames are named, the rest still printed, exit status 1")
    func badFrames() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("notes.png")
        try Data("not a picture".utf8).write(to: bad)
        let photo = CLI.shared.appendingPathComponent("testdata/photos/coffee.png").path
        let r = try CLI.run(["palette", bad.path, photo, dir.appendingPathComponent("missing.jpg").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("notes.png:") && r.stderr.contains("missing.jpg: no such file"))
        #expect(r.stdout.contains("coffee.png: 600×400"))
    }

    @Test("a film's video: a frame every --interval seconds, fades and repeats skipped, each scene with its time")
    func film() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let film = dir.appendingPathComponent("film.mp4")
        try Data(try TestClip.film()).write(to: film)
        let r = try CLI.run(["palette", film.path])
        #expect(r.status == 0, "\(r.stderr)")
        let heads = r.stdout.split(separator: "\n").filter { $0.hasPrefix(film.path + " at ") }.map(String.init)
        #expect(heads == ["0:02 (scene 1)", "0:08 (scene 2)", "0:14 (scene 3)", "0:16 (scene 4)", "0:18 (scene 5)"]
            .map { "\(film.path) at \($0): 96×64" })
        #expect(r.stdout.contains("\(film.path): 10 frames taken, one every 2 s: 5 scenes; 3 like the scene before and 2 black (fades) skipped"))
        let csv = try CLI.run(["palette", "--csv", "--interval", "4", film.path])
        #expect(csv.status == 0 && csv.stdout.split(separator: "\n").count == 1 + 3 * 18)
        #expect(csv.stderr.contains("5 frames taken, one every 4 s: 3 scenes"))
        let bad = try CLI.run(["palette", "--interval", "0.1", film.path])
        #expect(bad.status != 0 && bad.stderr.contains("--interval must be from 0.5 to 60 seconds"))
        let text = dir.appendingPathComponent("film2.mp4")
        try Data("no film here".utf8).write(to: text)
        let notFilm = try CLI.run(["palette", text.path])
        #expect(notFilm.status == 1 && notFilm.stderr.contains("film2.mp4: not a JPEG or PNG frame, a video or an animated GIF"))
    }

    @Test("import a colour file into the database for a member; refusals are sentences")
    func importFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try AppDatabase.open(directory: dir)
        _ = try SQLiteUserStore(database: database).create(username: "satsuki", passwordHash: "$2b$04$" + String(repeating: "a", count: 53))
        let csv = CLI.shared.appendingPathComponent("testdata/palettes/Paprika_BGR.csv").path
        let r = try CLI.run(["palette", "import", csv, "--title", "Paprika", "--year", "2006", "--owner", "satsuki", "--data", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("Imported 10110 colours as \"Paprika\": /movies/"))
        let stored = try SQLiteMovieStore(database: database).list(page: 1).items
        #expect(stored.count == 1 && stored[0].colourCount == 10_110 && stored[0].info.year == 2006)

        let nobody = try CLI.run(["palette", "import", csv, "--title", "P", "--owner", "nobody", "--data", dir.path])
        #expect(nobody.status != 0 && nobody.stderr.contains("there is no member called 'nobody'"))
        let notCSV = try CLI.run(["palette", "import", CLI.shared.appendingPathComponent("testdata/photos/coffee.png").path,
                                  "--title", "P", "--owner", "satsuki", "--data", dir.path])
        #expect(notCSV.status != 0 && notCSV.stderr.contains("not a CSV text file"))
        let badYear = try CLI.run(["palette", "import", csv, "--title", "P", "--year", "soon", "--owner", "satsuki", "--data", dir.path])
        #expect(badYear.status != 0 && badYear.stderr.contains("The year is a number"))
        #expect(try SQLiteMovieStore(database: database).list(page: 1).items.count == 1)
    }
}
