import Foundation
import Localization
import StorageCore

// What each page's template shows, one struct per page: the controllers fill them, the
// templates (Templates/) read their stored properties by name (through Encodable, see
// Markup's TemplateValue). A nil optional is "not there", so a `{{#error}}` section stays
// closed. Markup-valued properties (SVG plots) are built by
// PalettePlots, which escapes every text it puts in; everything else is escaped by the
// templates.

/// A page with nothing of its own to show.
struct NoData: Encodable {}

/// The error page (4xx/5xx): the status, the sentence and the request id to quote.
struct ErrorPage: Encodable {
    var code: Int
    var reason: String
    var message: String
    var requestID: String
}

struct HomePage: Encodable {
    struct StyleCard: Encodable {
        var name: String
        var about: String
        /// The sample photo in this style, once made.
        var example: String?
        var alt: String
    }
    /// One bundled photo beside its cartoons.
    struct Example: Encodable {
        struct Picture: Encodable {
            var src: String
            var name: String
            var alt: String
        }
        var photo: String
        var alt: String
        var credit: String
        var styles: [Picture]
    }
    var styles: [StyleCard]
    var examples: [Example]
    var hasExamples: Bool
}

/// /signup, /login and /account.
struct AccountPage: Encodable {
    var error: String?
    var username: String?
    var next: String?
    /// Sign-up from a visitor's result: the picture to keep.
    var keep: String?
}

struct CartoonizePage: Encodable {
    struct StyleChoice: Encodable {
        var value: String
        var name: String
        var disabled: Bool
        var checked: Bool
        /// A small picture in this style (the home page's examples), when one has been made.
        var example: String?
    }
    struct SizeChoice: Encodable {
        var value: Int
        /// In plain words: "Standard", "High", "Maximum".
        var label: String
        var selected: Bool
    }
    /// The browser's own checks, worded as the server's refusals with `{file}`, `{size}` and
    /// `{limit}` for the script to fill in.
    struct ScriptTexts: Encodable {
        var tooLarge: String
        var empty: String
        var unsupported: String
        var tooMany: String
        /// "{width} × {height} pixels of the original will be converted."
        var cropSize: String
    }
    var member: Bool
    var maxPhotos: Int
    var maxBytes: Int
    var texts: ScriptTexts
    /// This form's one-time token (a second POST of it finds the first job).
    var submission: String
    var multiple: Bool
    var styles: [StyleChoice]
    var noModels: Bool
    var sizes: [SizeChoice]
    var strength: Int
    var maxMB: Int
    /// Clips: the largest file this visitor or member may send, and the longest clip.
    var maxClipBytes: Int
    var maxClipMB: Int
    var clipSeconds: Int
    /// What a visitor without an account may do (a plural: "1 hour", "2 hours").
    var anonymousNote: String
    var error: String?
}

/// A conversion's or a movie analysis's progress page.
struct JobPage: Encodable {
    struct Result: Encodable {
        var id: String
        var style: String
        var styleName: String
        var alt: String
    }
    /// One photo's results, in each style asked for, headed by the photo.
    struct Group: Encodable {
        var title: String
        /// A result of this photo whose "before" picture shows the photo.
        var beforeID: String
        var images: [Result] = []
    }
    var id: String
    var statusText: String
    var waiting: Bool
    /// Seconds until the page reloads itself (scripting off), while the job waits.
    var refresh: Int?
    var percent: Int
    var done: Bool
    var failed: Bool
    var cancelled: Bool
    var error: String?
    var groups: [Group] = []
    /// "2 conversions are ahead of yours", "About 20 seconds left".
    var aheadText: String?
    var estimateText: String?
    /// The queued photo's small copy (/jobs/{id}/photo.jpg) can be shown.
    var photo: Bool

    init(_ job: JobQueue.Snapshot, _ language: Language, kind: Job.Kind) {
        id = job.id
        aheadText = job.aheadText(in: language, kind: kind)
        estimateText = job.estimateText(in: language)
        photo = kind == .conversion && job.waiting
        statusText = Self.statusText(job.status, language)
        waiting = job.waiting
        refresh = job.waiting ? 2 : nil
        percent = Int((job.progress * 100).rounded(.down))
        done = job.status == .done
        failed = job.status == .failed
        cancelled = job.status == .cancelled
        error = job.error(in: language)
    }

    static func statusText(_ state: JobQueue.Status, _ language: Language) -> String {
        Self.state(state).text(in: language)
    }

    /// A job's state as the catalog says it ("queued", "대기 중").
    static func state(_ state: JobQueue.Status) -> Message { Message("job.state.\(state.rawValue)") }
}

/// /gallery and /explore (the grid partial).
struct GalleryPage: Encodable {
    struct Item: Encodable {
        var id: String
        /// The title, or the style and date when the picture has none.
        var label: String
        var styleName: String
        var owner: String
        var likes: Int
        var liked: Bool
        var shared: Bool
        var mine: Bool
        var canLike: Bool
        var created: String
        var createdISO: String
    }
    struct Sort: Encodable {
        var value: String
        var label: String
        var current: Bool
        var href: String
    }
    var images: [Item]
    var empty: Bool
    var page: Int
    /// An empty first page has no pager ("Page 1" of nothing); a later empty one links back.
    /// (Stored, not computed: templates read the stored properties the encoder writes.)
    var showPager: Bool
    var previous: String?
    var next: String?
    /// Where the like and share forms return to.
    var here: String
    var emptyText: String
    var showOwner = false
    var sorts: [Sort] = []
    /// /explore's style filter (the same shape as the sorts).
    var styles: [Sort] = []
    var member = false
    var error: String?
    /// The gallery's select-and-act form is on the page (not on /explore).
    var bulk = false
}

/// "Delete these pictures?" (one from a card, or several ticked in the gallery).
struct DeletePage: Encodable {
    struct Item: Encodable {
        var id: String
        var label: String
    }
    var items: [Item]
    var next: String
    var error: String?
    var question: String
    var button: String
}

/// A result's page, /i/{id}.
struct ImageResultPage: Encodable {
    struct Nearest: Encodable {
        var id: String
        var title: String
        var distance: String
        var strip: String
    }
    /// What a link to a shared picture shows in chats and social sites (Open Graph).
    struct OpenGraph: Encodable {
        var ogTitle: String
        var ogDescription: String
        var ogImage: String
        var ogURL: String
    }
    var id: String
    var heading: String
    /// The title as stored (the rename field's value; empty when the picture has none).
    var title: String
    /// The page's full address, to copy and share.
    var permalink: String
    /// Whether the link works for others (shared, or a visitor's result reached by its link).
    var linkable: Bool
    var openGraph: OpenGraph?
    var styleName: String
    var strength: Int
    var width: Int
    var height: Int
    var inputWidth: Int
    var inputHeight: Int
    var seconds: String
    var model: String
    var modelShort: String
    var created: String
    var createdISO: String
    var owner: String?
    var mine: Bool
    var shared: Bool
    var anonymous: Bool
    var expires: String?
    var expiresISO: String?
    var likes: Int
    var liked: Bool
    var canLike: Bool
    var pngName: String
    var jpegName: String
    /// A clip: its result plays (MP4) beside the input as converted; a GIF clip also has a GIF.
    var clip: Bool = false
    var gif: Bool = false
    var mp4Name: String = ""
    var gifName: String = ""
    var error: String?
    /// SVG: the picture's 18 colours.
    var palette: String?
    var nearest: Nearest?
}

struct MovieListPage: Encodable {
    struct Item: Encodable {
        var id: String
        var title: String
        var details: String?
        /// "12 scenes · 216 colours · added by mei", in the reader's language.
        var summary: String
        var strip: String
    }
    var movies: [Item]
    var empty: Bool
    var member: Bool
    var previous: String?
    var next: String?
}

/// /movies/new, with what was typed when it is shown again with an error.
struct NewMoviePage: Encodable {
    var typed_title: String
    var typed_year: String
    var typed_director: String
    var typed_notes: String
    var typed_interval: String
    var error: String?
    var maxFrames: Int
    var maxMB: Int
    var maxHours: Int
}

struct EditMoviePage: Encodable {
    var id: String
    var title: String
    var year: String
    var director: String
    var notes: String
    var error: String?
}

/// A movie's page: its palettes, plots and one page of scenes.
struct MoviePage: Encodable {
    struct Dominant: Encodable {
        var hex: String
        var percent: String
        var swatch: String
        var rgb: String
        var hsv: String
    }
    struct Scene: Encodable {
        var number: Int
        var thumbnail: Bool
        var flags: String?
        var fade: Bool
        var strip: String
        /// Where a frame from a film's video was taken: "1:02:14", seconds for the page's
        /// player, and ISO 8601 for `<time datetime>`.
        var time: String?
        var seconds: String?
        var duration: String?
    }
    var id: String
    var title: String
    var details: String?
    var notes: String?
    var summary: String
    var mine: Bool
    var dominantStrip: String
    var dominant: [Dominant]
    var fingerprint: String?
    var rgbPlot: String
    /// "RGB cube: red to the right, green up, blue towards you", as this view shows it; the
    /// template and the four direction words let the page's script say it as the plot turns.
    var rgbCaption: String
    var rgbCaptionTemplate: String
    var directions: String
    var hsvPlot: String
    var hues: String
    var turnLeft: String
    var turnRight: String
    var scenes: [Scene]
    var hasScenes: Bool
    /// Some scenes carry times: the page offers to play the member's own copy of the film.
    var hasTimes: Bool
    var scenePages: Bool
    var scenePage: Int
    var previousScenes: String?
    var nextScenes: String?
    var ungrouped: Int?
    var ungroupedText: String?
    var ungroupedStrip: String?
}
