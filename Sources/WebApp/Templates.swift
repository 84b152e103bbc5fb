import Foundation
import Localization
import Markup

/// The `Templates/` folder, parsed once at start-up. Pages render inside `layout`; every
/// `{{value}}` goes through our one escaper, `HTML.escape`, so user input cannot become markup.
/// (Markup's `Template` is the engine: the part of Mustache these templates use, rendered from
/// typed page data straight into bytes.)
public struct Templates: Sendable {
    let library: TemplateLibrary

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
        let root = directory.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw LoadError(description: "templates folder \(root) not found")
        }
        var parsed: [String: Template] = [:]
        var paths: [String: String] = [:]
        for case let relative as String in walker where relative.hasSuffix(".mustache") {
            let path = root + "/" + relative
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw LoadError(description: "\(path): cannot be read as UTF-8")
            }
            for language in Language.allCases {
                let name = language.rawValue + "/" + relative.dropLast(".mustache".count)
                do {
                    parsed[name] = try Template(try Self.localize(text, language, path: path))
                    paths[name] = path
                } catch let error as Template.SyntaxError {
                    throw LoadError(description: "\(path):\(error) (with the \(language.rawValue) texts)")
                }
            }
        }
        do {
            library = try TemplateLibrary(parsed)
        } catch {
            throw LoadError(description: "\(paths[error.template] ?? error.template):\(error.line):\(error.column): "
                            + "template error: \(error.reason)")
        }
        for required in ["layout", "errors/error"] where library["en/" + required] == nil {
            throw LoadError(description: "\(root): missing template \(required).mustache")
        }
    }

    /// Renders `name` in `language` with a page's own data (one struct per page) and what every
    /// page shares (which a page cannot shadow), then wraps it in the layout with `title`.
    func page(_ name: String, language: Language, title: String, page: TemplateValue, shared: TemplateObject) -> [UInt8] {
        let prefix = language.rawValue + "/"
        var body: [UInt8] = []
        body.reserveCapacity(16 * 1024)
        library[prefix + name]?.render([page, .object(shared)], into: &body)
        var layout = shared
        layout["title"] = .text(title)
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 4 * 1024)
        library[prefix + "layout"]?.render([page, .object(layout)], inserting: body, as: "body", into: &out)
        return out
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

