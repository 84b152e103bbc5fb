import Foundation
import HTTPServer
import Localization
import Palette
import StorageCore
import Video

/// Movie colour palettes, as pages and as API (the API is a contract other tools rely on).
/// Movies are public; members create them and edit or delete their own.
///
///     POST   /api/v1/movies   multipart title, year?, director?, notes?, and frames (files or a ZIP,
///                             or one film's video with interval?) → 202 {"id": job}
///                             | csv (a colour file) → 201 {"id": movie}
///     GET    /api/v1/movies?page=N        GET /api/v1/movies/{id}       DELETE /api/v1/movies/{id}
///     GET    /api/v1/movies/jobs/{id}     the frame analysis: {"id","status","progress","movie","error"}
///     GET    /api/v1/movies/{id}/palette.csv | .json | .gpl
///     GET /movies, /movies/new, /movies/{id}, /movies/{id}/edit, /movies/{id}/scenes/{n}.jpg,
///         /movies/jobs/{id} (+ /status)   POST /movies, /movies/{id}/edit, /movies/{id}/delete,
///         /movies/jobs/{id}/cancel
struct MovieController {
    let service: MovieService
    let queue: JobQueue
    let pages: Pages

    // MARK: Creating

    /// A colour file makes a movie at once; frames make a job that will.
    enum Created {
        case movie(String)
        case job(String)
    }

    /// The create form's parts (a body parsed once: on a refusal the page shows what was typed).
    func parts(_ request: Request) throws -> [FormPart] {
        guard request.headers["Content-Type"]?.lowercased().hasPrefix("multipart/form-data") == true else {
            throw Refusal(.wrongType, "movie.not_multipart")
        }
        do {
            return try request.formFields(limits: MultipartLimits(maxParts: MovieService.maxFrames + 16,
                                                                  maxPartBytes: MovieService.maxUploadBytes))
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Refusal(.tooLarge, "movie.upload_too_large", ["frames": .number(MovieService.maxFrames),
                                                                "mb": .number(MovieService.maxUploadBytes / 1_000_000)])
        }
    }

    func create(_ parts: [FormPart], owner: Int64, requestID: String) throws -> Created {
        func text(_ name: String) -> String? { parts.first { $0.name == name }?.text }
        let info = try MovieService.info(title: text("title"), year: text("year"), director: text("director"), notes: text("notes"))
        // A browser sends an empty part for an empty file input; that is no file.
        let frames = parts.filter { $0.name == "frames" && !$0.data.isEmpty }
        let csv = parts.filter { $0.name == "csv" && !$0.data.isEmpty }
        switch (frames.isEmpty, csv.count) {
        case (true, 0):
            throw Refusal(.invalid, "movie.no_input")
        case (false, 1...), (_, 2...):
            throw Refusal(.invalid, "movie.both_inputs")
        case (true, _):
            let id = try service.importCSV(csv[0].data, filename: csv[0].filename, info: info, owner: owner)
            return .movie(id)
        case (false, _):
            try queue.checkRoom(owner: owner, address: nil)
            let id: String
            switch try service.input(from: frames.map { .init(name: $0.filename ?? "frame", bytes: $0.data) }, interval: text("interval")) {
            case let .frames(checked):
                id = try queue.submit(owner: owner, address: nil, requestID: requestID, parameters: MovieService.Parameters(info),
                                      inputs: checked.map { JobInput(name: $0.name, bytes: Data($0.bytes)) })
            case let .film(video, interval):
                id = try queue.submit(owner: owner, address: nil, requestID: requestID,
                                      parameters: MovieService.Parameters(info, interval: interval),
                                      inputs: [JobInput(name: video.name, bytes: Data(video.bytes))])
            }
            return .job(id)
        }
    }

    // MARK: Routes

    static func id(_ request: Request) throws -> String {
        guard let id = request.parameter("id"), !id.isEmpty else { throw MovieService.notFound }
        return id
    }

    func owned(_ request: Request, user: Int64, action: MovieService.OwnerAction) throws -> MovieSummary {
        try service.owned(try Self.id(request), by: user, action: action)
    }

    func jobSnapshot(_ request: Request) throws -> JobQueue.Snapshot {
        guard let id = request.parameter("id"), let snapshot = try queue.snapshot(id: id, viewer: request.session?.user.id) else {
            throw Refusal(.notFound, "movie_job.not_found")
        }
        return snapshot
    }

    struct JobBody: Encodable {
        var id: String
        var status: String
        var status_text: String
        var progress: Double
        var ahead: Int?
        var ahead_text: String?
        var estimate_seconds: Int?
        var estimate_text: String?
        var movie: String?
        var error: String?
    }

    static func body(_ s: JobQueue.Snapshot, _ request: Request) -> JobBody {
        let language = Pages.language(of: request.http)
        return JobBody(id: s.id, status: s.status.rawValue, status_text: JobPage.statusText(s.status, language),
                       progress: (s.progress * 1000).rounded() / 1000, ahead: s.ahead,
                       ahead_text: s.aheadText(in: language, kind: .movie),
                       estimate_seconds: s.estimate.map { Int($0.rounded(.up)) }, estimate_text: s.estimateText(in: language),
                       movie: s.resultIDs.first, error: s.error(in: language))
    }

    func mount(on router: Router) {
        let c = self
        // Members only: a request without a session may send a small form, not 200 MB.
        let uploadLimit = MovieService.maxUploadBytes + 1_000_000, anonymousLimit = 64 * 1024

        // API
        router.addAsync("POST", "/api/v1/movies", bodyLimit: anonymousLimit, signedInBodyLimit: uploadLimit) { request in
            let owner = try request.apiSession().user.id!
            var response: HTTPResponse
            switch try c.create(try c.parts(request), owner: owner, requestID: request.id) {
            case let .movie(id):
                response = .json(["id": id], status: .created)
                response.headers.set("Location", "/api/v1/movies/\(id)")
            case let .job(id):
                response = .json(["id": id], status: .accepted)
                response.headers.set("Location", "/api/v1/movies/jobs/\(id)")
            }
            return response
        }
        router.get("/api/v1/movies") { request in
            let page = try request.pageNumber()
            let list = try c.service.list(page: page)
            struct ListBody: Encodable { var page: Int; var has_more: Bool; var movies: [MovieBody] }
            return HTTPResponse.noStore(.json(ListBody(page: page, has_more: list.hasMore, movies: list.items.map(Self.body))))
        }
        router.get("/api/v1/movies/jobs/:id") { request in HTTPResponse.noStore(.json(Self.body(try c.jobSnapshot(request), request))) }
        router.get("/api/v1/movies/:id") { request in
            HTTPResponse.noStore(.json(Self.body(try c.service.find(try Self.id(request)))))
        }
        router.add("DELETE", "/api/v1/movies/:id") { request in
            try c.service.delete(try Self.id(request), by: try request.apiSession().user.id!)
            return HTTPResponse(status: .noContent)
        }
        for format in ["csv", "json", "gpl"] {
            router.addAsync("GET", "/api/v1/movies/:id/palette.\(format)") { request in try c.export(request, format: format) }
        }

        // Pages
        router.get("/movies") { request in try c.listPage(request) }
        router.get("/movies/new") { request in
            guard request.session != nil else { return .redirect(to: "/login?next=%2Fmovies%2Fnew") }
            return c.form(request)
        }
        router.addAsync("POST", "/movies", bodyLimit: anonymousLimit, signedInBodyLimit: uploadLimit) { request in
            guard let user = request.session?.user.id else { return .redirect(to: "/login?next=%2Fmovies%2Fnew") }
            var parts: [FormPart] = []
            do {
                parts = try c.parts(request)
                switch try c.create(parts, owner: user, requestID: request.id) {
                case let .movie(id): return .redirect(to: "/movies/\(id)")
                case let .job(id): return .redirect(to: "/movies/jobs/\(id)")
                }
            } catch {
                guard let error = HTTPError.from(error) else { throw error }
                return c.form(request, error: error, values: Self.typedFields(parts))
            }
        }
        router.get("/movies/jobs/:id") { request in try c.jobPage(request) }
        router.get("/movies/jobs/:id/status") { request in HTTPResponse.noStore(.json(Self.body(try c.jobSnapshot(request), request))) }
        router.post("/movies/jobs/:id/cancel") { request in
            let id = try c.jobSnapshot(request).id
            _ = try c.queue.cancel(id: id, viewer: request.session?.user.id)
            return .redirect(to: "/movies/jobs/\(id)")
        }
        router.addAsync("GET", "/movies/:id") { request in try c.moviePage(request) }
        router.get("/movies/:id/scenes/:number") { request in try c.thumbnail(request) }
        router.get("/movies/:id/edit") { request in
            guard let user = request.session?.user.id else { return .redirect(to: "/login") }
            return c.editForm(request, movie: try c.owned(request, user: user, action: .edit))
        }
        router.post("/movies/:id/edit", bodyLimit: 64 * 1024) { request in
            let user = try request.memberID()
            let movie = try c.owned(request, user: user, action: .edit)
            let form = try request.formDictionary()
            do {
                let info = try MovieService.info(title: form["title"], year: form["year"], director: form["director"], notes: form["notes"])
                try c.service.update(movie.id, by: user, info: info)
                return .redirect(to: "/movies/\(movie.id)")
            } catch let refusal as Refusal where refusal.reason == .invalid {
                let error = HTTPError(refusal)
                var edited = movie
                edited.info = MovieInfo(title: form["title"] ?? "", year: Int(form["year"] ?? ""), director: form["director"] ?? "",
                                        notes: form["notes"] ?? "")
                return c.editForm(request, movie: edited, error: error)
            }
        }
        router.post("/movies/:id/delete", bodyLimit: 16 * 1024) { request in
            let user = try request.memberID()
            let movie = try c.owned(request, user: user, action: .delete)
            let form = try request.formDictionary()
            guard form["confirm"] == "yes" else {
                return c.editForm(request, movie: movie, error: HTTPError(Refusal(.invalid, "form.confirm_delete")))
            }
            try c.service.delete(movie.id, by: user)
            return .redirect(to: "/movies")
        }
    }

    // MARK: API bodies and exports

    struct ColourBody: Encodable {
        var hex: String
        var r, g, b: Double
        var share: Double
    }

    struct MovieBody: Encodable {
        var id, title: String
        var year: Int?
        var director, notes, owner, source: String
        var scenes, colours: Int
        var dominant: [ColourBody]
        var created_at, updated_at: String
        var links: [String: String]
    }

    static func body(_ m: MovieSummary) -> MovieBody {
        MovieBody(id: m.id, title: m.info.title, year: m.info.year, director: m.info.director, notes: m.info.notes,
                  owner: m.ownerName, source: m.source.rawValue, scenes: m.sceneCount, colours: m.colourCount,
                  dominant: m.dominant.map { ColourBody(hex: Colour(r: $0.r, g: $0.g, b: $0.b).hex, r: $0.r, g: $0.g, b: $0.b, share: $0.share ?? 0) },
                  created_at: ImageLibrary.timestamp(m.createdAt), updated_at: ImageLibrary.timestamp(m.updatedAt),
                  links: ["page": "/movies/\(m.id)", "csv": "/api/v1/movies/\(m.id)/palette.csv",
                          "json": "/api/v1/movies/\(m.id)/palette.json", "gpl": "/api/v1/movies/\(m.id)/palette.gpl"])
    }

    func export(_ request: Request, format: String) throws -> HTTPResponse {
        let loaded = try service.load(try Self.id(request))
        let (body, type): ([UInt8], String) = switch format {
        case "csv": (Array(loaded.document.csv().utf8), "text/csv; charset=utf-8")
        case "json": ([UInt8](try loaded.document.json(id: loaded.summary.id, dominant: loaded.dominant)), "application/json")
        default: (Array(loaded.document.gpl(dominant: loaded.dominant).utf8), "text/plain; charset=utf-8")
        }
        let name = DownloadName.slug(loaded.summary.info.title)
        var response = HTTPResponse(status: .ok, headers: ["Content-Type": type], body: body)
        response.headers.set("Content-Disposition", "attachment; filename=\"\(name.isEmpty ? "movie" : name)-palette.\(format)\"")
        // Edits change the metadata in the exports: revalidate each time.
        response.headers.set("Cache-Control", "no-cache")
        return response
    }

    func thumbnail(_ request: Request) throws -> HTTPResponse {
        let text = request.parameter("number") ?? ""
        guard text.hasSuffix(".jpg"), let number = Int(text.dropLast(4)) else { throw Refusal(.notFound, "movie.no_scene") }
        let bytes = try service.thumbnail(movie: try Self.id(request), scene: number)
        let etag = "\"\(try Self.id(request))-\(number)\""
        var headers: HTTPHeaders = ["ETag": etag, "Cache-Control": "public, max-age=300"]
        if request.headers.noneMatchFails(etag) { return HTTPResponse(status: .notModified, headers: headers) }
        headers.set("Content-Type", "image/jpeg")
        return HTTPResponse(status: .ok, headers: headers, body: [UInt8](bytes))
    }

    // MARK: Pages


    /// "12 scenes · 216 colours · added by mei"; a colour file without scenes says so. The
    /// list and the movie page both say it this way, so they cannot disagree.
    static func summary(_ m: MovieSummary, _ language: Language) -> String {
        let colours = Argument.message(Message("movies.colours", ["count": .number(m.colourCount)]))
        let scenesKnown = m.source == .frames || m.sceneCount > 0
        return (scenesKnown
            ? Message("movies.summary", ["scenes": .message(Message("movies.scenes", ["count": .number(m.sceneCount)])),
                                         "colours": colours, "owner": .text(m.ownerName)])
            : Message("movies.summary_csv", ["colours": colours, "owner": .text(m.ownerName)])).text(in: language)
    }

    /// Where an axis of the RGB cube points on screen in this view, as the caption says it:
    /// whichever of left-right and towards-away it leans to more.
    static func direction(_ axis: SIMD3<Double>, _ view: PalettePlots.View) -> String {
        let p = view.project(axis)
        return abs(p.x) >= abs(p.z) ? (p.x >= 0 ? "right" : "left") : (p.z >= 0 ? "towards" : "away")
    }

    /// "RGB cube: red to the right, green up, blue towards you" for this view, and the same
    /// sentence with {red} and {blue} left for the page's script to fill as the plot turns.
    static func rgbCaption(_ view: PalettePlots.View, _ language: Language) -> (text: String, template: String, directions: String) {
        func dir(_ name: String) -> Argument { .message(Message("movie.dir.\(name)")) }
        let text = Message("movie.rgb_caption", ["red": dir(direction(SIMD3(1, 0, 0), view)),
                                                 "blue": dir(direction(SIMD3(0, 0, 1), view))]).text(in: language)
        let template = Message("movie.rgb_caption", ["red": .text("{red}"), "blue": .text("{blue}")]).text(in: language)
        let directions = ["right", "left", "towards", "away"].map { Message("movie.dir.\($0)").text(in: language) }.joined(separator: "|")
        return (text, template, directions)
    }

    /// The plots' words in the reader's language.
    static func plotWords(_ language: Language) -> PalettePlots.Words {
        func t(_ key: String) -> String { Message(key).text(in: language) }
        return PalettePlots.Words(
            fingerprint: t("plot.fingerprint"), rgbTitle: t("plot.rgb_title"), red: t("plot.red"), green: t("plot.green"),
            blue: t("plot.blue"), hsvTitle: t("plot.hsv_title"), value: t("plot.value"), hue: t("plot.hue"),
            saturation: t("plot.saturation"), hueTitle: t("plot.hue_title"), greys: t("plot.greys"), grey: t("plot.grey"))
    }

    /// "2001 · Hayao Miyazaki", or nil when neither is known.
    static func details(_ m: MovieSummary) -> String? {
        let known = [m.info.year.map(String.init), m.info.director.isEmpty ? nil : m.info.director].compactMap { $0 }
        return known.isEmpty ? nil : known.joined(separator: " · ")
    }

    func listPage(_ request: Request) throws -> HTTPResponse {
        let page = try request.pageNumber()
        let list = try service.list(page: page)
        let language = pages.language(request)
        return pages.render("movies/list", Message("movies.title"), request, page: MovieListPage(
            movies: list.items.map { m in
                .init(id: m.id, title: m.info.title, details: Self.details(m), summary: Self.summary(m, language),
                      strip: PaletteViews.dominantStrip(m.dominant, title: m.info.title, language: language))
            },
            empty: list.items.isEmpty, member: request.session != nil,
            previous: page > 1 ? "/movies?page=\(page - 1)" : nil, next: list.hasMore ? "/movies?page=\(page + 1)" : nil))
    }

    /// What the member typed, to show again with an error (files cannot be refilled).
    static func typedFields(_ parts: [FormPart]) -> [String: String] {
        var values: [String: String] = [:]
        for part in parts where part.filename == nil && ["title", "year", "director", "notes", "interval"].contains(part.name) {
            values[part.name] = part.text
        }
        return values
    }

    func form(_ request: Request, error: HTTPError? = nil, values: [String: String] = [:]) -> HTTPResponse {
        pages.render("movies/new", Message("movies.add"), request, page: NewMoviePage(
            typed_title: values["title"] ?? "", typed_year: values["year"] ?? "", typed_director: values["director"] ?? "",
            typed_notes: values["notes"] ?? "", typed_interval: values["interval"] ?? MovieService.seconds(FilmOptions.defaultInterval),
            error: error?.message(in: pages.language(request)), maxFrames: MovieService.maxFrames,
            maxMB: MovieService.maxUploadBytes / 1_000_000, maxHours: Int(ClipLimits.film.maxSeconds / 3600)), status: error?.status ?? .ok, headers: error?.headers ?? HTTPHeaders())
    }

    func editForm(_ request: Request, movie: MovieSummary, error: HTTPError? = nil) -> HTTPResponse {
        pages.render("movies/edit", Message("movie.edit_title", ["title": .text(movie.info.title)]), request, page: EditMoviePage(
            id: movie.id, title: movie.info.title, year: movie.info.year.map(String.init) ?? "", director: movie.info.director,
            notes: movie.info.notes, error: error?.message(in: pages.language(request))), status: error?.status ?? .ok)
    }

    func jobPage(_ request: Request) throws -> HTTPResponse {
        let job = try jobSnapshot(request)
        if job.status == .done, let movie = job.resultIDs.first { return .redirect(to: "/movies/\(movie)") }
        let title = job.waiting ? Message("movie_job.title_analysing")
            : Message("movie_job.title_ended", ["status": .message(JobPage.state(job.status))])
        return pages.render("movies/job", title, request, page: JobPage(job, pages.language(request), kind: .movie))
    }

    /// Plots turn in 45° steps with `?turn=N`, so the page needs no script to be explored.
    /// Scenes come `MovieService.scenesPerPage` at a time (`?page=N`); the fingerprint, plots
    /// and histogram are drawn from the movie's bounded overview, so a page costs the same for
    /// ten scenes or a quarter of a million.
    func moviePage(_ request: Request) throws -> HTTPResponse {
        let turnText = request.http.query("turn") ?? "0"
        guard let turn = Int(turnText), (-1000...1000).contains(turn) else {
            throw Refusal(.invalid, "movie.bad_turn")
        }
        let scenePage = try request.pageNumber()
        let loaded = try service.page(try Self.id(request), scenePage: scenePage)
        let m = loaded.summary
        let language = pages.language(request)
        let words = Self.plotWords(language)
        let view = PalettePlots.View(yaw: 35 + 45 * Double(turn), pitch: 25)
        let viewer = request.session?.user.id
        let scenes = loaded.scenes.map { scene in
            let colours = loaded.colours[scene.number] ?? []
            let tiles = (0..<6).map { tile in colours.filter { $0.tile == tile }.sorted { $0.rank < $1.rank } }
            let flags = SceneFlags(names: scene.flags)
            return MoviePage.Scene(
                number: scene.number, thumbnail: scene.hasThumbnail, flags: flags.contains(.letterbox) ? Message("movie.letterbox").text(in: language) : nil,
                fade: flags.contains(.fade),
                strip: PalettePlots.strip(tiles.flatMap { MoviePalette.weighted($0) }, width: 540, height: 36,
                                          label: Message("movie.scene_label", ["number": .number(scene.number),
                                                                               "count": .number(colours.count)]).text(in: language)),
                time: scene.timeMS.map(FilmScenes.timecode), seconds: scene.timeMS.map { String(format: "%.3f", Double($0) / 1000) },
                duration: scene.timeMS.map { String(format: "PT%.3fS", Double($0) / 1000) })
        }
        let overview = loaded.overview
        let ungroupedStrip = overview.ungrouped.isEmpty ? nil : PalettePlots.strip(
            overview.ungrouped.sorted { ($0.colour.hsv.h, $0.colour.hsv.v) < ($1.colour.hsv.h, $1.colour.hsv.v) },
            width: 900, height: 48, label: Message("movie.ungrouped_label").text(in: language))
        let total = max(m.dominant.reduce(0) { $0 + ($1.share ?? 0) }, 1e-12)
        let base = "/movies/\(m.id)?turn=\(turn)&"
        let caption = Self.rgbCaption(view, language)
        let dominant = m.dominant.map { c in
            let colour = Colour(r: c.r, g: c.g, b: c.b)
            let hsv = colour.hsv
            return MoviePage.Dominant(
                hex: colour.hex, percent: String(format: "%.1f", (c.share ?? 0) / total * 100),
                swatch: PalettePlots.strip([WeightedColour(colour, weight: 1)], width: 48, height: 48, label: colour.hex),
                rgb: "\(Int(colour.clamped.r.rounded())), \(Int(colour.clamped.g.rounded())), \(Int(colour.clamped.b.rounded()))",
                hsv: String(format: "%.0f°, %.0f%%, %.0f%%", hsv.h, hsv.s * 100, hsv.v * 100))
        }
        return pages.render("movies/movie", .verbatim(m.info.title), request, page: MoviePage(
            id: m.id, title: m.info.title, details: Self.details(m), notes: m.info.notes.isEmpty ? nil : m.info.notes,
            summary: Self.summary(m, language), mine: viewer == m.ownerID,
            dominantStrip: PaletteViews.dominantStrip(m.dominant, title: m.info.title, language: language, width: 900, height: 64),
            dominant: dominant,
            fingerprint: overview.fingerprint.isEmpty ? nil : PalettePlots.fingerprint(columns: overview.fingerprint, words: words),
            rgbPlot: PalettePlots.rgbCube(overview.plot, view: view, words: words),
            rgbCaption: caption.text, rgbCaptionTemplate: caption.template, directions: caption.directions,
            hsvPlot: PalettePlots.hsvCylinder(overview.plot, view: view, words: words),
            hues: PalettePlots.hueHistogram(bins: overview.hues, words: words),
            turnLeft: "/movies/\(m.id)?turn=\(turn - 1)&page=\(scenePage)#plots",
            turnRight: "/movies/\(m.id)?turn=\(turn + 1)&page=\(scenePage)#plots",
            scenes: scenes, hasScenes: !scenes.isEmpty, hasTimes: scenes.contains { $0.time != nil }, scenePages: loaded.hasMoreScenes || scenePage > 1, scenePage: scenePage,
            previousScenes: scenePage > 1 ? "\(base)page=\(scenePage - 1)#scenes" : nil,
            nextScenes: loaded.hasMoreScenes ? "\(base)page=\(scenePage + 1)#scenes" : nil,
            ungrouped: overview.ungroupedCount > 0 ? overview.ungroupedCount : nil,
            ungroupedText: overview.ungroupedCount > 0
                ? Message("movie.ungrouped", ["count": .number(overview.ungroupedCount)]).text(in: language) : nil,
            ungroupedStrip: ungroupedStrip))
    }
}
