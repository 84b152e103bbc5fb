import CartoonGAN
import Foundation
import HTTPServer
import ImageIO
import Localization
import StorageCore
import Video

/// Conversions, as pages and as API (the API is a contract other tools rely on):
///
///     POST   /api/v1/conversions       multipart image (1–5 photos, or one clip), style, strength?, max_side?, fps? → 202 {"id"}
///     GET    /api/v1/conversions/{id}  → {"id","status","progress","images","error"}
///     DELETE /api/v1/conversions/{id}  → 202 (cancelling) | 409 (already finished) | 404
///     GET  /cartoonize  POST /cartoonize  GET /jobs/{id}  GET /jobs/{id}/status  POST /jobs/{id}/cancel
///
/// Everything in a request is checked (and every photo decoded) before a job is queued, on the
/// router's async executor, never on a connection thread; the job itself is a row that a
/// worker (in this process or another) runs.
struct ConversionController {
    let service: ConversionService
    let queue: JobQueue
    let pages: Pages
    /// The finished job's pictures (labels for its page, bytes for its ZIP).
    let library: ImageLibrary
    /// Photos are decoded here, within a memory budget, never more at once.
    let decoding: DecodeGate
    /// The styles' sample pictures, once made.
    var examples: Examples? = nil

    static let memberPhotos = 5
    static let anonymousPhotos = 1

    /// The upload routes' body limits: every photo at the largest file size, plus the form; a
    /// visitor without a session may send one photo (known from the head, before the body).
    var uploadLimit: Int { Self.memberPhotos * service.limits.maxBytes + 64 * 1024 }
    var anonymousUploadLimit: Int { Self.anonymousPhotos * service.limits.maxBytes + 64 * 1024 }

    struct StatusBody: Encodable {
        var id: String
        var status: String
        /// The status in the reader's language (Accept-Language), for the job page's script.
        var status_text: String
        var progress: Double
        /// While queued: jobs ahead of this one; and about how long until it is done.
        var ahead: Int?
        var ahead_text: String?
        var estimate_seconds: Int?
        var estimate_text: String?
        var images: [String]
        var error: String?
    }

    static func body(_ s: JobQueue.Snapshot, _ request: Request) -> StatusBody {
        let language = Pages.language(of: request.http)
        return StatusBody(id: s.id, status: s.status.rawValue, status_text: JobPage.statusText(s.status, language),
                          progress: (s.progress * 1000).rounded() / 1000, ahead: s.ahead,
                          ahead_text: s.aheadText(in: language, kind: .conversion),
                          estimate_seconds: s.estimate.map { Int($0.rounded(.up)) }, estimate_text: s.estimateText(in: language),
                          images: s.resultIDs, error: s.error(in: language))
    }

    /// The multipart form: `image` (repeatable), `style`, optional `strength` and `max_side`,
    /// and for one photo optional `rotate` (0, 90, 180, 270: clockwise) and `crop` ("x,y,w,h"
    /// in pixels of the turned photo), which the form's crop tool fills in.
    struct UploadForm {
        var uploads: [ConversionService.Upload] = []
        var style = ""
        var strength: Int?
        var maxSide: Int?
        var edit: ConversionService.Edit?
        /// A clip's frame rate: "auto" (the default), "twos" or "source".
        var fps: String?
        /// The form's one-time token (`submission`): a second POST of the same form (Back,
        /// then Submit again) finds the first job rather than starting another.
        var submission: String?

        /// `maxPartBytes`: the largest photo or clip.
        init(_ request: Request, maxPartBytes: Int) throws {
            guard request.headers["Content-Type"]?.lowercased().hasPrefix("multipart/form-data") == true else {
                throw Refusal(.wrongType, "upload.not_multipart")
            }
            let parts: [FormPart]
            do {
                parts = try request.formFields(limits: MultipartLimits(maxParts: 32, maxPartBytes: maxPartBytes))
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw Refusal(.tooLarge, "upload.form_too_large", ["mb": .number(maxPartBytes / 1_000_000)])
            }
            func number(_ name: String, _ refusal: Refusal) throws -> Int? {
                guard let text = parts.first(where: { $0.name == name })?.text.trimmingCharacters(in: .whitespaces),
                      !text.isEmpty else { return nil }
                guard let value = Int(text) else { throw refusal }
                return value
            }
            // A browser sends an empty, nameless part for an empty file input: that is no photo.
            // A named file with no bytes is a photo that is empty, and is refused as such.
            uploads = parts.filter { $0.name == "image" && (!$0.data.isEmpty || !($0.filename ?? "").isEmpty) }
                .map { .init(bytes: $0.data, filename: $0.filename) }
            style = parts.first { $0.name == "style" }?.text ?? ""
            guard !style.isEmpty else { throw Refusal(.invalid, "upload.choose_style") }
            strength = try number("strength", Refusal(.invalid, "upload.bad_strength"))
            maxSide = try number("max_side", Refusal(.invalid, "upload.not_a_number", ["field": "max_side"]))
            let rotate = try number("rotate", Refusal(.invalid, "upload.bad_rotate")) ?? 0
            guard [0, 90, 180, 270].contains(rotate) else { throw Refusal(.invalid, "upload.bad_rotate") }
            var crop: ConversionService.Edit.Crop?
            if let text = parts.first(where: { $0.name == "crop" })?.text.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                let numbers = text.split(separator: ",", omittingEmptySubsequences: false)
                    .map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard numbers.count == 4, let x = numbers[0], let y = numbers[1], let w = numbers[2], let h = numbers[3],
                      x >= 0, y >= 0, w > 0, h > 0 else { throw Refusal(.invalid, "upload.bad_crop") }
                crop = .init(x: x, y: y, width: w, height: h)
            }
            edit = rotate == 0 && crop == nil ? nil : .init(rotate: rotate, crop: crop)
            submission = parts.first { $0.name == "submission" }?.text
            fps = parts.first { $0.name == "fps" }?.text.trimmingCharacters(in: .whitespaces)
            if fps?.isEmpty == true { fps = nil }
        }
    }

    /// Checks and queues a conversion; returns the job id. The cheap checks come first: room
    /// in the queue for this member or address, then the photos' headers; only then are the
    /// photos decoded, on the bounded `decoding` gate.
    func submit(_ request: Request, form: UploadForm) async throws -> String {
        let owner = request.session?.user.id
        // The same form sent again (Back, then Submit): its job, not a second one.
        if let earlier = try queue.submitted(form.submission, owner: owner, address: request.http.remoteAddress) { return earlier }
        try queue.checkRoom(owner: owner, address: request.http.remoteAddress)
        let service = self.service
        let cost = try service.decodeCost(form.uploads)
        var parameters = try await decoding.run(cost: cost) {
            try service.check(uploads: form.uploads, style: form.style, strength: form.strength, maxSide: form.maxSide,
                              edit: form.edit, fps: form.fps, owner: owner, maxPhotos: owner == nil ? Self.anonymousPhotos : Self.memberPhotos)
        }
        parameters.visitor = pages.visitorKey(request)
        return try queue.submit(owner: owner, address: request.http.remoteAddress, requestID: request.id,
                                parameters: parameters, inputs: ConversionService.inputs(form.uploads), submission: form.submission)
    }

    func snapshot(_ request: Request) throws -> JobQueue.Snapshot {
        guard let id = request.parameter("id"), let snapshot = try queue.snapshot(id: id, viewer: request.session?.user.id) else {
            throw Refusal(.notFound, "job.not_found")
        }
        return snapshot
    }

    func cancel(_ request: Request) throws {
        let snapshot = try snapshot(request)
        guard try queue.cancel(id: snapshot.id, viewer: request.session?.user.id) else {
            throw Refusal(.conflict, "job.already_ended", ["status": .message(JobPage.state(snapshot.status))])
        }
    }

    func mount(on router: Router) {
        let c = self
        router.addAsync("POST", "/api/v1/conversions", bodyLimit: anonymousUploadLimit, signedInBodyLimit: uploadLimit) { request in
            let id = try await c.submit(request, form: try UploadForm(request, maxPartBytes: c.service.maxUploadBytes))
            var response = HTTPResponse.json(["id": id], status: .accepted)
            response.headers.set("Location", "/api/v1/conversions/\(id)")
            return response
        }
        router.get("/api/v1/conversions/:id") { request in HTTPResponse.noStore(.json(Self.body(try c.snapshot(request), request))) }
        router.add("DELETE", "/api/v1/conversions/:id") { request in
            try c.cancel(request)
            return .json(Self.body(try c.snapshot(request), request), status: .accepted)
        }

        router.get("/cartoonize") { request in c.form(request) }
        router.addAsync("POST", "/cartoonize", bodyLimit: anonymousUploadLimit, signedInBodyLimit: uploadLimit) { request in
            var form: UploadForm?
            do {
                form = try UploadForm(request, maxPartBytes: c.service.maxUploadBytes)
                return .redirect(to: "/jobs/\(try await c.submit(request, form: form!))")
            } catch {
                guard let error = HTTPError.from(error) else { throw error }
                return c.form(request, error: error, chosen: form) // the choices made stay made
            }
        }
        router.get("/jobs/:id") { request in try c.jobPage(request) }
        // For the job page's script (cookie-authenticated, unlike the API).
        router.get("/jobs/:id/status") { request in HTTPResponse.noStore(.json(Self.body(try c.snapshot(request), request))) }
        // The photo being converted, small, for the job page (while its upload is kept).
        router.addAsync("GET", "/jobs/:id/photo.jpg") { request in try await c.photo(request) }
        // Async: it reads every result's PNG (up to 20 large ones), never on a connection thread.
        router.addAsync("GET", "/jobs/:id/results.zip") { request in try c.zip(request) }
        router.post("/jobs/:id/cancel") { request in
            let id = try c.snapshot(request).id
            _ = try queue.cancel(id: id, viewer: request.session?.user.id)
            return .redirect(to: "/jobs/\(id)")
        }
    }

    static let sizes = [512, 768, 1024, 1280, 1600, 2048]

    /// The upload form; after a refusal, with the style, strength and size that were chosen.
    func form(_ request: Request, error: HTTPError? = nil, chosen: UploadForm? = nil) -> HTTPResponse {
        let member = request.session != nil
        let language = pages.language(request)
        let available = Set(service.models.availableStyles)
        let style = chosen.map { $0.style.lowercased() } ?? Style.hayao.rawValue
        let strength = chosen?.strength.flatMap { (0...100).contains($0) ? $0 : nil } ?? 100
        let size = chosen?.maxSide.flatMap { Self.sizes.contains($0) ? $0 : nil } ?? service.defaultMaxSide
        let samples = (try? examples?.available()[Examples.sample]).flatMap { $0 } ?? []
        var styles = Style.allCases.map { s in
            CartoonizePage.StyleChoice(value: s.rawValue, name: ImageLibrary.styleName(s.rawValue, language),
                                       disabled: !available.contains(s), checked: s.rawValue == style,
                                       example: samples.contains(s) ? Examples.path(Examples.sample, s) : nil)
        }
        styles.append(.init(value: "all", name: Message("style.all").text(in: language),
                            disabled: available.count < Style.allCases.count, checked: style == "all"))
        let hours = Int(service.anonymousLifetime / 3600)
        let maxPhotos = member ? Self.memberPhotos : Self.anonymousPhotos
        func scripted(_ key: String) -> String {
            Message(key, ["file": .text("{file}"), "size": .text("{size}"), "limit": .text("{limit}")]).text(in: language)
        }
        let texts = CartoonizePage.ScriptTexts(
            tooLarge: scripted("photo.file_too_large"), empty: scripted("photo.empty"), unsupported: scripted("photo.unsupported"),
            tooMany: Message(member ? "upload.too_many" : "upload.too_many_anonymous", ["max": .number(maxPhotos)]).text(in: language),
            cropSize: Message("cartoonize.crop_size", ["width": .text("{width}"), "height": .text("{height}")]).text(in: language))
        let page = CartoonizePage(
            member: member, maxPhotos: maxPhotos, maxBytes: service.limits.maxBytes, texts: texts, submission: JobRules.newID(),
            multiple: member, styles: styles, noModels: available.isEmpty,
            sizes: Self.sizes.filter { $0 <= service.largestMaxSide }.map {
                .init(value: $0, label: Message("detail.\($0)").text(in: language), selected: $0 == size)
            },
            strength: strength, maxMB: service.limits.maxBytes / 1_000_000,
            // A visitor's form carries one photo's worth of bytes; a member's up to a clip's limit.
            maxClipBytes: member ? service.clipLimits.maxBytes : service.limits.maxBytes,
            maxClipMB: (member ? service.clipLimits.maxBytes : service.limits.maxBytes) / 1_000_000,
            clipSeconds: Int(service.clipLimits.maxSeconds),
            anonymousNote: Message("cartoonize.anonymous", ["hours": .number(hours)]).text(in: language),
            error: error?.message(in: language))
        return pages.render("convert/cartoonize", Message("cartoonize.heading"), request, page: page, status: error?.status ?? .ok,
                            headers: error?.headers ?? HTTPHeaders())
    }

    /// A 320-px JPEG of the job's first photo, as it will be converted (turned and cropped),
    /// decoded on the bounded gate like any upload; 404 once the job has ended.
    func photo(_ request: Request) async throws -> HTTPResponse {
        // The job row itself (the snapshot would also work out its queue standing, unused here).
        guard let id = request.parameter("id"), let job = try queue.store.find(id: id, viewer: request.session?.user.id),
              job.kind == .conversion, job.isWaiting, let input = try queue.store.inputs(of: job.id).first else {
            throw Refusal(.notFound, "job.not_found")
        }
        let parameters = try? JSONDecoder().decode(ConversionService.Parameters.self, from: job.parameters)
        let bytes = [UInt8](input.bytes), limits = service.limits
        if parameters?.clip != nil {
            // A queued clip shows its first picture.
            let clipLimits = service.clipLimits
            let jpeg = try await decoding.run(cost: 0) {
                try ImageEncoder.jpeg(try ClipConverter.firstPicture(bytes, maxSide: 320, limits: clipLimits), quality: 80)
            }
            return HTTPResponse(headers: ["Content-Type": "image/jpeg", "Cache-Control": "private, max-age=3600"], body: jpeg)
        }
        let cost = (try? ImageDecoder.info(bytes, limits: limits).decodeCost) ?? 0
        let jpeg = try await decoding.run(cost: cost) {
            let photo = try ImageDecoder.decode(bytes, limits: limits).image
            let edited = try parameters?.edit?.apply(to: photo, file: input.name) ?? photo
            return try ImageEncoder.jpeg(edited.fitting(maxSide: 320), quality: 80)
        }
        return HTTPResponse(headers: ["Content-Type": "image/jpeg", "Cache-Control": "private, max-age=3600"], body: jpeg)
    }

    /// A finished job's pictures grouped by photo (results come photo by photo, each in every
    /// style asked for), each group headed by its photo, so styles compare side by side.
    func groups(_ job: JobQueue.Snapshot, _ request: Request) throws -> [JobPage.Group] {
        guard job.status == .done else { return [] }
        let language = pages.language(request)
        let viewer = request.session?.user.id
        var groups: [JobPage.Group] = []
        var lastKey = ""
        for id in job.resultIDs {
            guard let d = try? library.details(id, viewer: viewer) else { continue } // deleted since
            let label = ImageLibrary.label(title: d.title, style: d.style, created: d.createdAt, language)
            let style = ImageLibrary.styleName(d.style, language)
            let key = "\(d.title)|\(d.inputWidth)x\(d.inputHeight)|\(d.width)x\(d.height)"
            if key != lastKey || groups.isEmpty || groups[groups.count - 1].images.contains(where: { $0.style == d.style }) {
                groups.append(.init(title: d.title.isEmpty ? Message("photo.unnamed").text(in: language) : d.title, beforeID: id))
                lastKey = key
            }
            groups[groups.count - 1].images.append(.init(
                id: id, style: d.style, styleName: style,
                alt: Message("job.result_style_alt", ["style": .text(style), "label": .text(label)]).text(in: language)))
        }
        return groups
    }

    /// Every result of a finished job in one ZIP, each named as its own download would be.
    func zip(_ request: Request) throws -> HTTPResponse {
        let job = try snapshot(request)
        guard job.status == .done else { throw Refusal(.conflict, "job.not_done") }
        let viewer = request.session?.user.id
        var files: [(name: String, bytes: [UInt8])] = []
        var used = Set<String>()
        for id in job.resultIDs {
            // A picture as its PNG, a clip as its MP4.
            guard let d = try? library.details(id, viewer: viewer),
                  let bytes = try d.media == .image ? library.result(id, viewer: viewer) : library.clip(id, viewer: viewer) else { continue }
            let ext = d.media == .image ? "png" : "mp4"
            var name = DownloadName.file(title: d.title, style: d.style, id: id, ext: ext).name
            if used.contains(name) { name = DownloadName.file(title: d.title + " \(id.prefix(6))", style: d.style, id: id, ext: ext).name }
            used.insert(name)
            files.append((name, [UInt8](bytes)))
        }
        guard !files.isEmpty else { throw ImageLibrary.notFound }
        let name = "artworker-\(job.id.prefix(8)).zip"
        return HTTPResponse(headers: [
            "Content-Type": "application/zip", "Cache-Control": "private, no-cache",
            "Content-Disposition": ContentDisposition.value("attachment", filename: name, fallback: name),
        ], body: ZipArchive.stored(files))
    }

    func jobPage(_ request: Request) throws -> HTTPResponse {
        let job = try snapshot(request)
        // One result: its own page is the result page (before/after, downloads).
        if job.status == .done, job.resultIDs.count == 1 { return .redirect(to: "/i/\(job.resultIDs[0])") }
        let language = pages.language(request)
        var page = JobPage(job, language, kind: .conversion)
        page.groups = try groups(job, request)
        let title = job.waiting ? Message("job.title_converting")
            : Message("job.title_ended", ["status": .message(JobPage.state(job.status))])
        return pages.render("convert/job", title, request, page: page)
    }
}
