import Markup
import Testing

@Suite("The one HTML escaper")
struct HTMLEscapeTests {
    @Test("every markup character is replaced, also when a mark clings to it", arguments: [
        ("plain text", "plain text"),
        ("<b>&'\"", "&lt;b&gt;&amp;&#39;&quot;"),
        // U+0600 (ARABIC NUMBER SIGN) is a prepended mark: "\u{600}<" is one grapheme cluster.
        ("\u{600}<meta http-equiv=refresh>", "\u{600}&lt;meta http-equiv=refresh&gt;"),
        // U+0301 (COMBINING ACUTE) after a quote: "\"\u{301}" is one cluster.
        ("x\"\u{301} onmouseover=alert(1)", "x&quot;\u{301} onmouseover=alert(1)"),
        ("'\u{301}>", "&#39;\u{301}&gt;"),
        ("우리집 고양이 🐈‍⬛ <3", "우리집 고양이 🐈‍⬛ &lt;3"),
        ("", ""),
    ])
    func escapes(input: String, expected: String) {
        #expect(HTML.escape(input) == expected)
    }

    @Test("no markup character survives, whatever scalars surround it")
    func noRawCharacterSurvives() {
        let marks: [Unicode.Scalar] = ["\u{600}", "\u{301}", "\u{200D}", "\u{FE0F}", "\u{1F3FB}", "\u{0E33}", "a"]
        for mark in marks {
            for special in ["<", ">", "\"", "'", "&"] {
                let input = String(mark) + special + String(mark)
                let escaped = HTML.escape(input)
                #expect(!escaped.unicodeScalars.contains { "<>\"'".unicodeScalars.contains($0) }, "\(input.unicodeScalars.map(\.value))")
                #expect(escaped.unicodeScalars.filter { $0 == "&" }.count == 1)
            }
        }
    }
}
