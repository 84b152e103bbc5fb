import Markup
import Testing

@Suite("Templates")
struct TemplateTests {
    struct Card: Encodable {
        var id: String
        var title: String?
        var likes: Int
        var liked: Bool
    }

    struct Page: Encodable {
        var user: String
        var cards: [Card]
        var empty: Bool
        var error: String?
        var ratio: Double
        var tags: [String]
        var owner: Owner?
        struct Owner: Encodable { var name: String }
    }

    static let page = Page(user: "mei", cards: [Card(id: "a1", title: "<b>", likes: 3, liked: true), Card(id: "b2", title: nil, likes: 0, liked: false)],
                           empty: false, error: nil, ratio: 0.5, tags: ["x", "y&z"], owner: .init(name: "Satsuki"))

    static func render(_ template: String, _ context: [TemplateValue] = [try! TemplateValue(encoding: page)!]) throws -> String {
        try Template(template).render(context)
    }

    @Test("values, sections, inverted sections, dotted names and scope", arguments: [
        ("{{user}}", "mei"),
        ("{{{user}}} {{& user}}", "mei mei"),
        ("{{#cards}}[{{id}}:{{likes}}]{{/cards}}", "[a1:3][b2:0]"),
        // A card has no `user`: the name is found further out.
        ("{{#cards}}{{id}}/{{user}} {{/cards}}", "a1/mei b2/mei "),
        ("{{#cards}}{{#liked}}♥{{/liked}}{{^liked}}♡{{/liked}}{{/cards}}", "♥♡"),
        // A present optional opens its section with the value on top; an absent one does not.
        ("{{#cards}}{{#title}}<{{title}}>{{/title}}{{^title}}untitled{{/title}} {{/cards}}", "<&lt;b&gt;> untitled "),
        ("{{#error}}shown{{/error}}{{^error}}no error{{/error}}", "no error"),
        ("{{#empty}}E{{/empty}}{{^empty}}N{{/empty}}", "N"),
        // Text after a closed section is not part of it.
        ("{{#empty}}in{{/empty}}out{{#cards}}<{{/cards}}>", "out<<>"),
        ("{{#tags}}{{#cards}}{{/cards}}{{/tags}}{{^tags}}none{{/tags}}", ""),
        ("{{owner.name}} {{#owner}}{{name}}{{/owner}}", "Satsuki Satsuki"),
        // `a.b` looks for `b` inside `a` only, not further out.
        ("[{{owner.user}}]", "[]"),
        ("{{ratio}} {{empty}} {{missing}}|", "0.5 false |"),
        ("{{! a comment }}kept", "kept"),
    ])
    func renders(template: String, expected: String) throws {
        #expect(try Self.render(template) == expected)
    }

    @Test("an empty list opens its inverted section; a list of plain values needs no names")
    func lists() throws {
        struct Empty: Encodable { var items: [Card] = [] }
        let value = try TemplateValue(encoding: Empty())!
        #expect(try Self.render("{{#items}}x{{/items}}{{^items}}nothing{{/items}}", [value]) == "nothing")
        #expect(try Self.render("{{#tags}}.{{/tags}}") == "..")
    }

    @Test("hand-written conformances: nested containers and nil values")
    func nested() throws {
        struct Hand: Encodable {
            enum Keys: String, CodingKey { case a, inner, list, none, big }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode("A", forKey: .a)
                var inner = c.nestedContainer(keyedBy: Keys.self, forKey: .inner)
                try inner.encode(2, forKey: .a)
                var list = c.nestedUnkeyedContainer(forKey: .list)
                try list.encode("x")
                try list.encodeNil()
                var deeper = list.nestedContainer(keyedBy: Keys.self)
                try deeper.encode(true, forKey: .none)
                try c.encodeNil(forKey: .none)
                try c.encode(UInt64.max, forKey: .big)
            }
        }
        let value = try TemplateValue(encoding: Hand())!
        #expect(try Self.render("{{a}} {{inner.a}} [{{#list}}{{#none}}yes{{/none}}.{{/list}}] {{^none}}no none{{/none}} {{big}}", [value])
                == "A 2 [.yes.] no none 18446744073709551615")
    }

    @Test("every value is escaped per Unicode scalar, also with a mark glued to it")
    func escaping() throws {
        struct Text: Encodable { var t: String }
        for input in ["\u{600}<script>", "x\"\u{301} onmouseover=1", "'&'", "우리집 <고양이>"] {
            let out = try Self.render("{{t}}", [try TemplateValue(encoding: Text(t: input))!])
            #expect(out == HTML.escape(input))
            #expect(!out.unicodeScalars.contains { "<>\"'".unicodeScalars.contains($0) })
        }
    }

    @Test("a section tag, comment or partial alone on its line takes the line with it", arguments: [
        ("<ul>\n  {{#cards}}\n  <li>{{id}}</li>\n  {{/cards}}\n</ul>\n", "<ul>\n  <li>a1</li>\n  <li>b2</li>\n</ul>\n"),
        ("a\n{{! note }}\nb\n", "a\nb\n"),
        ("{{#empty}}\nx\n{{/empty}}\nend", "end"),
        // Not alone on its line: the whitespace stays.
        ("a {{#cards}}{{id}}{{/cards}} b\n", "a a1b2 b\n"),
        ("{{#cards}}{{id}}\n{{/cards}}", "a1\nb2\n"),
        ("x\r\n{{#empty}}\r\ny\r\n{{/empty}}\r\nz", "x\r\nz"),
    ])
    func standalone(template: String, expected: String) throws {
        #expect(try Self.render(template) == expected)
    }

    @Test("partials are put in place when the library is made")
    func partials() throws {
        let library = try TemplateLibrary([
            "page": try Template("<main>\n  {{> parts/card}}\n</main>"),
            "parts/card": try Template("{{#cards}}<p>{{id}}</p>{{/cards}}\n"),
        ])
        #expect(library["page"]?.render([try TemplateValue(encoding: Self.page)!]) == "<main>\n<p>a1</p><p>b2</p>\n</main>")
        #expect(throws: TemplateLibrary.LinkError.self) { try TemplateLibrary(["page": try Template("{{> nope}}")]) }
        #expect { try TemplateLibrary(["a": try Template("x\n {{> b}}"), "b": try Template("{{> a}}")]) } throws: { error in
            "\(error)" == "b:1:1: template error: partial “a” includes itself (a → b → a)"
        }
    }

    @Test("a template that cannot be used fails to load with its line and column", arguments: [
        ("<p>\n{{#items}}unclosed\n", "2:1: template error: “{{#items}}” is never closed"),
        ("{{#a}}{{/b}}", "1:7: template error: “{{/b}}” does not close “{{#a}}”, opened at 1:1"),
        ("x {{/a}}", "1:3: template error: “{{/a}}” closes no section"),
        ("ok\n  {{name", "2:3: template error: “{{” is never closed"),
        ("{{{name}}", "1:1: template error: “{{{” is never closed"),
        ("{{=<% %>=}}", "1:1: template error: delimiter changes ({{=…=}}) are not supported"),
        ("{{$block}}{{/block}}", "1:1: template error: template inheritance ({{$…}}) is not supported"),
        ("{{ }}", "1:1: template error: “{{ }}” does not name a value"),
        ("{{a..b}}", "1:1: template error: “{{a..b}}” does not name a value"),
        ("{{a b}}", "1:1: template error: “{{a b}}” does not name a value"),
    ])
    func syntaxErrors(template: String, expected: String) {
        #expect { try Template(template) } throws: { error in "\(error)" == expected }
    }

    @Test("a layout takes a page rendered before it as bytes")
    func inserting() throws {
        var out: [UInt8] = []
        try Template("<main>{{{body}}}</main>{{body}}").render([try TemplateValue(encoding: Self.page)!], inserting: Array("<p>&</p>".utf8),
                                                               as: "body", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "<main><p>&</p></main>")
    }

    @Test("objects set by hand: a field set again replaces the first")
    func objects() throws {
        var object = TemplateObject([.init("a", .text("1"))])
        object["b"] = .integer(2)
        object["a"] = .text("3")
        #expect(try Template("{{a}}{{b}}").render([.object(object)]) == "32")
    }
}
