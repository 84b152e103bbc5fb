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
        let body = library.render(PageContext(page: page, shared: shared), withTemplate: prefix + name) ?? ""
        var layout = shared
        layout["title"] = title
        layout["body"] = body
        return library.render(PageContext(page: page, shared: layout), withTemplate: prefix + "layout") ?? body
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
struct PageContext: MustacheParent {
    let page: Any
    let shared: [String: Any]

    func child(named name: String) -> Any? {
        if let value = shared[name] { return value }
        guard let property = Mirror(reflecting: page).children.first(where: { $0.label == name }) else { return nil }
        let value = Mirror(reflecting: property.value)
        return value.displayStyle == .optional ? value.children.first?.value : property.value
    }
}
