import Foundation
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
    /// (`errors/error`). A template that does not parse stops start-up with its file and line.
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
            do {
                library.register(try MustacheTemplate(string: Self.pragma + text), named: String(relative.dropLast(".mustache".count)))
            } catch let error as MustacheTemplate.ParserError {
                throw LoadError(description: "\(path):\(error.context.lineNumber):\(error.context.columnNumber): "
                                + "template error \(error.error) near “\(error.context.line.trimmingCharacters(in: .whitespaces))”")
            }
            count += 1
        }
        for required in ["layout", "errors/error"] where library.getTemplate(named: required) == nil {
            throw LoadError(description: "\(root): missing template \(required).mustache")
        }
        self.library = library
    }

    /// Renders `name` with a page's own data (one struct per page) and what every page shares,
    /// then wraps it in the layout with `title`.
    func page(_ name: String, title: String, page: Any, shared: [String: Any] = [:]) -> String {
        let body = library.render(PageContext(page: page, shared: shared), withTemplate: name) ?? ""
        var layout = shared
        layout["title"] = title
        layout["body"] = body
        return library.render(PageContext(page: page, shared: layout), withTemplate: "layout") ?? body
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
