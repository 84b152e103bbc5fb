import Foundation
import Localization
import Markup
import Mustache

/// The `Templates/` folder, parsed once at start-up. Pages render inside `layout`; every
/// `{{value}}` goes through our one escaper, `HTML.escape`, so user input cannot become markup.
public struct Templates: Sendable {
    let library: MustacheLibrary

    /// swift-mustache's built-in HTML escaping walks `Character`s (grapheme clusters), so a
    /// combining or prepended mark glued to `<` or `"` slips through it. Every template starts
    /// with this pragma, which makes `{{value}}` use `HTML.escape` instead. Partials need it too:
    /// the library resets the content type to its own HTML type when it enters a partial.
    static let contentType = "ARTWORKER_HTML"
    static let pragma = "{{% CONTENT_TYPE: \(contentType)}}"

    struct EscapedHTML: MustacheContentType {
        func escapeText(_ text: String) -> String { HTML.escape(text) }
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Loads every `*.mustache` below `directory`, named by its relative path without extension
    /// (`errors/error`), once per language: `{{#t}}key{{/t}}` is replaced by the key's text in
    /// that language before the template is parsed, so a page costs no lookups per request and
    /// the text's `{{placeholders}}` are the page's own values, escaped like any other.
    /// A template that does not parse, or names a key the catalog lacks, stops start-up with
    /// its file and line.
    public init(directory: URL) throws {
        MustacheContentTypes.register(EscapedHTML(), named: Self.contentType)
        var library = MustacheLibrary()
        let root = directory.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw LoadError(description: "templates folder \(root) not found")
        }
        var count = 0
        for case let relative as String in walker where relative.hasSuffix(".mustache") {
            let path = root + "/" + relative
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw LoadError(description: "\(path): cannot be read as UTF-8")
            }
            for language in Language.allCases {
                let localized = try Self.localize(text, language, path: path)
                do {
                    library.register(try MustacheTemplate(string: Self.pragma + localized),
                                     named: language.rawValue + "/" + relative.dropLast(".mustache".count))
                } catch let error as MustacheTemplate.ParserError {
                    throw LoadError(description: "\(path):\(error.context.lineNumber):\(error.context.columnNumber): "
                                    + "template error \(error.error) near “\(error.context.line.trimmingCharacters(in: .whitespaces))” "
                                    + "(with the \(language.rawValue) texts)")
                }
            }
            count += 1
        }
        for required in ["layout", "errors/error"] where library.getTemplate(named: "en/" + required) == nil {
            throw LoadError(description: "\(root): missing template \(required).mustache")
        }
        self.library = library
    }

    /// Renders `name` in `language` with a page's own data (one struct per page) and what every
    /// page shares, then wraps it in the layout with `title`.
    func page(_ name: String, language: Language, title: String, page: Any, shared: [String: Any] = [:]) -> String {
        let prefix = language.rawValue + "/"
        let context = PageContext(page: page, shared: shared)
        let body = library.render(context, withTemplate: prefix + name) ?? ""
        var layout = context
        layout.values["title"] = title
        layout.values["body"] = body
        return library.render(layout, withTemplate: prefix + "layout") ?? body
    }

    /// A template's text in one language: each `{{#t}}key{{/t}}` becomes the key's catalog
    /// text (plain entries only: a template cannot choose a plural form, the controller does),
    /// and each partial, `{{> name}}`, that language's copy of it.
    static func localize(_ text: String, _ language: Language, path: String) throws -> String {
        var out = ""
        var rest = text[...]
        while let open = rest.range(of: "{{#t}}") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "{{/t}}") else {
                throw LoadError(description: "\(path): {{#t}} without {{/t}}")
            }
            let key = String(rest[open.upperBound..<close.lowerBound])
            guard case let .text(localized)? = Catalog.entry(key, in: language) else {
                throw LoadError(description: "\(path): “\(key)” is not a plain text of the \(language.rawValue) catalog")
            }
            out += localized
            rest = rest[close.upperBound...]
        }
        out += rest
        return out.replacingOccurrences(of: #"\{\{>\s*"#, with: "{{> \(language.rawValue)/", options: .regularExpression)
    }
}

/// A template's names, looked up in what every page shares first (who is signed in, the CSRF
/// token, the layout's title and body: a page cannot shadow them), then in the page's own
/// struct (its stored properties by name; a nil optional is absent). Typed page data means a
/// misspelt or missing value is a compile error in the controller, not an empty spot on the
/// page.
///
/// The page's struct is read once, when the page is rendered: its properties (and those of the
/// structs and arrays of structs inside it) become dictionaries, so each `{{name}}` is a
/// dictionary read. Looking names up with Mirror at every use walked a struct's fields once per
/// name per card: most of the time of a 24-picture gallery page.
struct PageContext: MustacheParent {
    var values: [String: Any]

    init(page: Any, shared: [String: Any]) {
        var values = Self.fields(of: page)
        values.merge(shared) { _, shared in shared }
        self.values = values
    }

    func child(named name: String) -> Any? { values[name] }

    /// A struct's stored properties by name, each made plain; a nil optional is left out.
    static func fields(of value: Any) -> [String: Any] {
        var out: [String: Any] = [:]
        for child in Mirror(reflecting: value).children {
            guard let label = child.label, let plain = plain(child.value) else { continue }
            out[label] = plain
        }
        return out
    }

    /// A value as the templates read it: optionals unwrapped (nil when absent), structs as
    /// dictionaries, arrays element by element; strings, numbers and booleans as they are.
    static func plain(_ value: Any) -> Any? {
        switch value {
        case is String, is Bool, is Int, is Double: return value
        default: break
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional: return mirror.children.first.flatMap { plain($0.value) }
        case .struct: return fields(of: value)
        case .collection: return mirror.children.compactMap { plain($0.value) }
        default: return value
        }
    }
}
