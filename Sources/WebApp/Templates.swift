import Foundation
import Mustache

/// The `Templates/` folder, parsed once at start-up. Pages render inside `layout`; every
/// `{{value}}` is HTML-escaped (Mustache's default), so user input cannot become markup.
public struct Templates: Sendable {
    let library: MustacheLibrary

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Loads every `*.mustache` below `directory`, named by its relative path without extension
    /// (`errors/error`). A template that does not parse stops start-up with its file and line.
    public init(directory: URL) throws {
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
                library.register(try MustacheTemplate(string: text), named: String(relative.dropLast(".mustache".count)))
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

    /// Renders `name` with `context`, then wraps it in the layout with `title`.
    public func page(_ name: String, title: String, context: [String: Any] = [:]) -> String {
        let body = library.render(context, withTemplate: name) ?? ""
        var layout = context
        layout["title"] = title
        layout["body"] = body
        return library.render(layout, withTemplate: "layout") ?? body
    }
}
