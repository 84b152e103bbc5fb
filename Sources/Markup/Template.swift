/// Server-rendered pages: the part of Mustache (https://mustache.github.io/mustache.5.html)
/// our templates use, parsed once at start-up and rendered straight into a response's bytes.
///
/// - `{{name}}` is HTML-escaped with `HTML.escape` (per Unicode scalar, like all our markup);
///   `{{{name}}}` and `{{& name}}` are written as they are (markup the server built itself).
/// - `{{#name}}…{{/name}}` renders its content once for `true`, once per item of a non-empty
///   list, and once for any other present value, with an object's names on top of the scope
///   (so `{{#error}}` shows an error that is there, and `{{#owner}}{{name}}{{/owner}}` its
///   name); `{{^name}}…{{/name}}` only when the value is absent, `false` or an empty list.
/// - Names are looked up from the innermost section's value outwards; `a.b` finds `a` that way
///   and then `b` inside it only.
/// - `{{! comments}}` vanish; `{{> partial}}` is replaced by the named template when the
///   library is put together, so rendering never looks templates up.
/// - Section tags, comments and partials alone on a line take the line with them (the spec's
///   "standalone" rule), so a template's layout does not leave blank lines in the page.
///
/// Delimiter changes (`{{= =}}`), lambdas and template inheritance are not supported: a
/// template using them fails to load with its line and column.
public struct Template: Sendable {
    indirect enum Node: Sendable {
        case text([UInt8])
        case value(Name, escaped: Bool)
        case section(Name, [Node], inverted: Bool)
        /// Only until `TemplateLibrary` puts the partial's nodes in its place.
        case partial(String, Position)
    }

    /// A name split at its dots, each part with its hash for `TemplateObject` lookups. The
    /// first part is stored on its own and the rest only for dotted names, so reading a name
    /// while rendering copies no array (short names are stored inline in their `String`).
    struct Name: Sendable {
        let first: String
        let firstHash: UInt64
        /// `b`, `c` of `a.b.c`; nil for a name without dots.
        let rest: [(name: String, hash: UInt64)]?

        init(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            first = parts[0]
            firstHash = TemplateObject.Field.hash(parts[0])
            rest = parts.count > 1 ? parts.dropFirst().map { ($0, TemplateObject.Field.hash($0)) } : nil
        }
    }

    struct Position: Sendable {
        var line: Int
        var column: Int
    }

    /// A template that cannot be used, and where.
    public struct SyntaxError: Error, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var reason: String
        public var description: String { "\(line):\(column): template error: \(reason)" }
    }

    /// The parsed tree (partials are put in place on it), and the same compiled for rendering.
    let nodes: [Node]
    let program: Program

    public init(_ text: String) throws(SyntaxError) {
        self.init(nodes: try Parser(text).parse())
    }

    init(nodes: [Node]) {
        self.nodes = nodes
        program = Program(nodes)
    }

    /// Renders with `context`, outermost first: a name is looked for in the last value, then
    /// the one before it, and so on. (`{{> partial}}` renders only in a template from a
    /// `TemplateLibrary`, which puts the partial in its place.)
    public func render(_ context: [TemplateValue], into out: inout [UInt8]) {
        program.render(context, into: &out, inserting: nil)
    }

    public func render(_ context: [TemplateValue]) -> String {
        var out: [UInt8] = []
        render(context, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Renders with `context`, writing `inner` where the template has `{{{name}}}` (or
    /// `{{& name}}`): a layout around a page rendered just before, without making it a string.
    public func render(_ context: [TemplateValue], inserting inner: [UInt8], as name: String, into out: inout [UInt8]) {
        program.render(context, into: &out, inserting: (inner, name))
    }

    /// The tree flattened into one array of plain instructions, all text in one byte array and
    /// all names in one table: rendering walks indices and copies bytes instead of retaining
    /// and releasing tree nodes.
    struct Program: Sendable {
        struct Op: Sendable {
            enum Kind: UInt8, Sendable { case text, escaped, raw, section, inverted }
            var kind: Kind
            /// `text`: the bytes `text[a..<b]`. Values and sections: `names[a]`; a section's
            /// body is the instructions after it, up to `b`.
            var a: Int32
            var b: Int32
        }

        var ops: [Op] = []
        var text: [UInt8] = []
        var names: [Name] = []

        init(_ nodes: [Node]) {
            append(nodes)
        }

        mutating func append(_ nodes: [Node]) {
            // Texts side by side in one list (a partial's first or last text beside the
            // including template's) become one instruction; never across a section's end.
            var previousWasText = false
            for node in nodes {
                defer { if case .text = node { previousWasText = true } else { previousWasText = false } }
                switch node {
                case .text(let bytes):
                    if previousWasText {
                        ops[ops.count - 1].b += Int32(bytes.count)
                    } else {
                        ops.append(Op(kind: .text, a: Int32(text.count), b: Int32(text.count + bytes.count)))
                    }
                    text += bytes
                case .value(let name, let escaped):
                    names.append(name)
                    ops.append(Op(kind: escaped ? .escaped : .raw, a: Int32(names.count - 1), b: 0))
                case .section(let name, let body, let inverted):
                    names.append(name)
                    let at = ops.count
                    ops.append(Op(kind: inverted ? .inverted : .section, a: Int32(names.count - 1), b: 0))
                    append(body)
                    ops[at].b = Int32(ops.count)
                case .partial:
                    break
                }
            }
        }

        func render(_ context: [TemplateValue], into out: inout [UInt8], inserting inner: (bytes: [UInt8], name: String)?) {
            // Only objects have names to look up; the other values a section opens with add
            // nothing to the scope (their section renders with the names around it).
            var stack = context.compactMap { if case .object(let object) = $0 { object } else { nil } }
            ops.withUnsafeBufferPointer { ops in
                text.withUnsafeBufferPointer { text in
                    let renderer = Renderer(ops: ops, text: text, names: names, inner: inner)
                    renderer.run(0, ops.count, &stack, &out)
                }
            }
        }
    }

    /// One rendering of a program. Its buffers point into the program's arrays and are valid
    /// only inside `Program.render`'s `withUnsafeBufferPointer` calls, which is all it lives.
    struct Renderer {
        let ops: UnsafeBufferPointer<Program.Op>
        let text: UnsafeBufferPointer<UInt8>
        let names: [Name]
        let inner: (bytes: [UInt8], name: String)?

        /// The innermost value with the name `names[index]`; for `a.b`, `b` inside that `a`.
        func lookup(_ index: Int32, _ stack: [TemplateObject]) -> TemplateValue? {
            let name = names[Int(index)]
            guard var found = Template.lookup(name.first, name.firstHash, stack) else { return nil }
            guard let rest = name.rest else { return found }
            for part in rest {
                guard case .object(let inner) = found, let j = inner.index(of: part.name, hash: part.hash) else { return nil }
                found = inner.fields[j].value
            }
            return found
        }

        func run(_ start: Int, _ end: Int, _ stack: inout [TemplateObject], _ out: inout [UInt8]) {
            var pc = start
            while pc < end {
                let op = ops[pc]
                pc += 1
                switch op.kind {
                case .text:
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: text[Int(op.a)..<Int(op.b)]))
                case .escaped, .raw:
                    if op.kind == .raw, let inner, names[Int(op.a)].rest == nil, names[Int(op.a)].first == inner.name {
                        out.append(contentsOf: inner.bytes)
                        continue
                    }
                    switch lookup(op.a, stack) {
                    case .text(let string)?: if op.kind == .escaped { HTML.escape(string, into: &out) } else { out.append(contentsOf: string.utf8) }
                    case .integer(let n)?: out.append(contentsOf: String(n).utf8)
                    case .real(let x)?: out.append(contentsOf: String(x).utf8)
                    case .bool(let b)?: out.append(contentsOf: (b ? "true" : "false").utf8)
                    // A list or an object has no text of its own: a template that prints one is
                    // wrong, and shows nothing rather than Swift's description of it.
                    case .list?, .object?, nil: break
                    }
                case .inverted:
                    switch lookup(op.a, stack) {
                    case nil, .bool(false)?: run(pc, Int(op.b), &stack, &out)
                    case .list(let items)? where items.isEmpty: run(pc, Int(op.b), &stack, &out)
                    default: break
                    }
                    pc = Int(op.b)
                case .section:
                    switch lookup(op.a, stack) {
                    case nil, .bool(false)?: break
                    case .list(let items)?:
                        for item in items { section(pc, Int(op.b), item, &stack, &out) }
                    case let value?:
                        section(pc, Int(op.b), value, &stack, &out)
                    }
                    pc = Int(op.b)
                }
            }
        }

        func section(_ start: Int, _ end: Int, _ value: TemplateValue, _ stack: inout [TemplateObject], _ out: inout [UInt8]) {
            if case .object(let object) = value {
                stack.append(object)
                run(start, end, &stack, &out)
                stack.removeLast()
            } else {
                run(start, end, &stack, &out)
            }
        }
    }

    /// The innermost value named `name` (whose hash is `hash`).
    static func lookup(_ name: String, _ hash: UInt64, _ stack: [TemplateObject]) -> TemplateValue? {
        stack.withUnsafeBufferPointer { stack in
            var level = stack.count - 1
            while level >= 0 {
                if let i = stack[level].index(of: name, hash: hash) { return stack[level].fields[i].value }
                level -= 1
            }
            return nil
        }
    }
}

/// Templates by name with their partials in place (`{{> partials/grid}}` is the template named
/// `partials/grid`).
public struct TemplateLibrary: Sendable {
    /// A partial that names no template, or that includes itself.
    public struct LinkError: Error, CustomStringConvertible {
        public var template: String
        public var line: Int
        public var column: Int
        public var reason: String
        public var description: String { "\(template):\(line):\(column): template error: \(reason)" }
    }

    private var templates: [String: Template] = [:]

    public init(_ parsed: [String: Template]) throws(LinkError) {
        for name in parsed.keys.sorted() {
            templates[name] = Template(nodes: try Self.link(parsed[name]!.nodes, in: name, parsed, including: [name]))
        }
    }

    public subscript(name: String) -> Template? { templates[name] }

    static func link(_ nodes: [Template.Node], in template: String, _ parsed: [String: Template],
                     including: [String]) throws(LinkError) -> [Template.Node] {
        var out: [Template.Node] = []
        for node in nodes {
            switch node {
            case .partial(let name, let at):
                guard let partial = parsed[name] else {
                    throw LinkError(template: template, line: at.line, column: at.column, reason: "partial “\(name)” is not a template")
                }
                guard !including.contains(name) else {
                    throw LinkError(template: template, line: at.line, column: at.column,
                                    reason: "partial “\(name)” includes itself (\((including + [name]).joined(separator: " → ")))")
                }
                // Errors inside the partial are reported in the partial's own file.
                out += try link(partial.nodes, in: name, parsed, including: including + [name])
            case .section(let name, let body, let inverted):
                out.append(.section(name, try link(body, in: template, parsed, including: including), inverted: inverted))
            case .text, .value:
                out.append(node)
            }
        }
        return out
    }
}

/// Text to nodes in three steps: tags and the text between them, then the standalone rule,
/// then sections nested by matching their open and close tags.
private struct Parser {
    enum Kind: Equatable {
        case value(escaped: Bool)
        case section(inverted: Bool)
        case close
        case comment
        case partial
    }

    enum Token {
        case text(Range<Int>)
        case tag(Kind, name: String, at: Int)
    }

    let bytes: [UInt8]

    init(_ text: String) { bytes = Array(text.utf8) }

    func parse() throws(Template.SyntaxError) -> [Template.Node] {
        var tokens = try tokenize()
        standalone(&tokens)
        return try nest(tokens)
    }

    func position(_ offset: Int) -> Template.Position {
        var line = 1, lineStart = 0
        for i in 0..<offset where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        return Template.Position(line: line, column: offset - lineStart + 1)
    }

    func error(_ reason: String, at offset: Int) -> Template.SyntaxError {
        let at = position(offset)
        return Template.SyntaxError(line: at.line, column: at.column, reason: reason)
    }

    func find(_ needle: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = start
        while i <= bytes.count - needle.count {
            if bytes[i] == needle[0] && bytes[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static let open = Array("{{".utf8), close = Array("}}".utf8), tripleClose = Array("}}}".utf8)

    func tokenize() throws(Template.SyntaxError) -> [Token] {
        var tokens: [Token] = []
        var textStart = 0
        while let open = find(Self.open, from: textStart) {
            if open > textStart { tokens.append(.text(textStart..<open)) }
            let triple = open + 2 < bytes.count && bytes[open + 2] == UInt8(ascii: "{")
            let contentStart = open + (triple ? 3 : 2)
            guard let close = find(triple ? Self.tripleClose : Self.close, from: contentStart) else {
                throw error("“\(triple ? "{{{" : "{{")” is never closed", at: open)
            }
            var content = String(decoding: bytes[contentStart..<close], as: UTF8.self)
            var kind = Kind.value(escaped: !triple)
            if !triple, let sigil = content.first {
                switch sigil {
                case "#": kind = .section(inverted: false)
                case "^": kind = .section(inverted: true)
                case "/": kind = .close
                case "!": kind = .comment
                case ">": kind = .partial
                case "&": kind = .value(escaped: false)
                case "=": throw error("delimiter changes ({{=…=}}) are not supported", at: open)
                case "<", "$": throw error("template inheritance ({{\(sigil)…}}) is not supported", at: open)
                default: break
                }
                if kind != .value(escaped: true) { content.removeFirst() }
            }
            let name = content.trimmingWhitespace
            if kind != .comment {
                let allowed: (UInt8) -> Bool = { byte in
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                         UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "."): true
                    default: false
                    }
                }
                let parts = name.split(separator: ".", omittingEmptySubsequences: false)
                guard !name.isEmpty, name.utf8.allSatisfy(allowed), !parts.contains(where: \.isEmpty) else {
                    throw error("“\(String(decoding: bytes[open..<close + (triple ? 3 : 2)], as: UTF8.self))” does not name a value", at: open)
                }
            }
            tokens.append(.tag(kind, name: name, at: open))
            textStart = close + (triple ? 3 : 2)
        }
        if textStart < bytes.count { tokens.append(.text(textStart..<bytes.count)) }
        return tokens
    }

    func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    /// A section tag, comment or partial that is the only thing on its line, apart from spaces
    /// and tabs, is removed with that line's whitespace and its line break. Decided on the text
    /// as written, then applied, so two such lines in a row both go.
    func standalone(_ tokens: inout [Token]) {
        var newStart: [Int: Int] = [:], newEnd: [Int: Int] = [:]
        for (i, token) in tokens.enumerated() {
            guard case .tag(let kind, _, _) = token, kind != .value(escaped: true), kind != .value(escaped: false) else { continue }
            // Before it on its line: only blanks, back to a line break or the template's start.
            var lineStart: Int? = nil
            if i == 0 {
                lineStart = nil
            } else if case .text(let range) = tokens[i - 1] {
                var j = range.upperBound
                while j > range.lowerBound && isBlank(bytes[j - 1]) { j -= 1 }
                if j == range.lowerBound && i - 1 == 0 { lineStart = j }
                else if j > range.lowerBound && bytes[j - 1] == UInt8(ascii: "\n") { lineStart = j }
                else { continue }
            } else {
                continue
            }
            // After it: only blanks, up to a line break (taken too) or the template's end.
            var lineEnd: Int? = nil
            if i + 1 < tokens.count {
                guard case .text(let range) = tokens[i + 1] else { continue }
                var j = range.lowerBound
                while j < range.upperBound && isBlank(bytes[j]) { j += 1 }
                if j < range.upperBound && bytes[j] == UInt8(ascii: "\n") { lineEnd = j + 1 }
                else if j + 1 < range.upperBound && bytes[j] == UInt8(ascii: "\r") && bytes[j + 1] == UInt8(ascii: "\n") { lineEnd = j + 2 }
                else if j == range.upperBound && i + 1 == tokens.count - 1 { lineEnd = j }
                else { continue }
            }
            if let lineStart { newEnd[i - 1] = lineStart }
            if let lineEnd { newStart[i + 1] = lineEnd }
        }
        for (i, token) in tokens.enumerated() {
            guard case .text(let range) = token else { continue }
            let start = newStart[i] ?? range.lowerBound
            let end = max(start, newEnd[i] ?? range.upperBound)
            tokens[i] = .text(start..<end)
        }
    }

    func nest(_ tokens: [Token]) throws(Template.SyntaxError) -> [Template.Node] {
        var open: [(name: String, inverted: Bool, at: Int, outer: [Template.Node])] = []
        var nodes: [Template.Node] = []
        for token in tokens {
            switch token {
            case .text(let range) where !range.isEmpty:
                // Texts left side by side (by a comment) become one.
                if case .text(let before)? = nodes.last {
                    nodes[nodes.count - 1] = .text(before + bytes[range])
                } else {
                    nodes.append(.text(Array(bytes[range])))
                }
            case .text, .tag(.comment, _, _):
                break
            case .tag(.value(let escaped), let name, _):
                nodes.append(.value(Template.Name(name), escaped: escaped))
            case .tag(.partial, let name, let at):
                nodes.append(.partial(name, position(at)))
            case .tag(.section(let inverted), let name, let at):
                open.append((name, inverted, at, nodes))
                nodes = []
            case .tag(.close, let name, let at):
                guard let section = open.popLast() else {
                    throw error("“{{/\(name)}}” closes no section", at: at)
                }
                guard section.name == name else {
                    let opened = position(section.at)
                    throw error("“{{/\(name)}}” does not close “{{\(section.inverted ? "^" : "#")\(section.name)}}”, "
                                + "opened at \(opened.line):\(opened.column)", at: at)
                }
                let body = nodes
                nodes = section.outer
                nodes.append(.section(Template.Name(name), body, inverted: section.inverted))
            }
        }
        if let section = open.last {
            throw error("“{{\(section.inverted ? "^" : "#")\(section.name)}}” is never closed", at: section.at)
        }
        return nodes
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
