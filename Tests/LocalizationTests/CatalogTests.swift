import Foundation
@testable import Localization
import Testing
import TestSupport

/// Every text of the product lives in the catalogs; these tests keep them whole.
@Suite("Message catalogs")
struct CatalogTests {
    /// Every file the product's text can come from.
    static func sources(under folder: String, ext: String) throws -> [(path: String, text: String)] {
        let root = SharedData.packageRoot.appendingPathComponent(folder)
        let walker = FileManager.default.enumerator(atPath: root.path)
        var files: [(String, String)] = []
        while let relative = walker?.nextObject() as? String {
            guard relative.hasSuffix(ext) else { continue }
            files.append((folder + "/" + relative, try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)))
        }
        return files
    }

    /// `{{#t}}key{{/t}}` in the templates.
    static func templateKeys() throws -> [(key: String, file: String)] {
        let pattern = try NSRegularExpression(pattern: #"\{\{#t\}\}([^{}]+)\{\{/t\}\}"#)
        return try sources(under: "Templates", ext: ".mustache").flatMap { file in
            pattern.matches(in: file.text, range: NSRange(file.text.startIndex..., in: file.text)).map {
                (String(file.text[Range($0.range(at: 1), in: file.text)!]), file.path)
            }
        }
    }

    /// Keys named in Swift: a string literal that is a key of the catalog.
    static func swiftText() throws -> String {
        try sources(under: "Sources", ext: ".swift").filter { !$0.path.hasPrefix("Sources/Localization/") }.map(\.text).joined()
    }

    /// Keys built at run time from a value, as `"style.\(name)"`: their families are listed
    /// here, so the test still knows they are used.
    static let dynamicFamilies = ["style.", "detail.", "example.", "movie.dir.", "home.about_", "job.state.", "explore.sort.", "http."]

    @Test("placeholders are filled; an unclosed one stays as written", arguments: [
        ("Hello {{user}}!", "Hello <user>!"),
        ("{{ user }}{{n}}", "<user><n>"),
        ("{{user}}님의 갤러리", "<user>님의 갤러리"),
        ("no holes", "no holes"),
        ("left {{open", "left {{open"),
        ("}} {{a}} {{", "}} <a> {{"),
        ("{{}}", "<>"),
        ("{{", "{{"),
    ])
    func fill(text: String, expected: String) {
        #expect(Catalog.fill(text) { "<\($0)>" } == expected)
    }

    @Test("English and Korean have the same keys")
    func sameKeys() {
        let english = Set(Catalog.tables[.en]!.keys), korean = Set(Catalog.tables[.ko]!.keys)
        #expect(english.subtracting(korean).sorted() == [], "missing in Korean")
        #expect(korean.subtracting(english).sorted() == [], "only in Korean")
        for language in Language.allCases { #expect(Catalog.tables[language] != nil, "\(language) has no catalog") }
    }

    @Test("every entry has the same placeholders and the same kind in both languages")
    func samePlaceholders() {
        for (key, english) in Catalog.tables[.en]! {
            guard let korean = Catalog.tables[.ko]![key] else { continue }
            let englishNames = Set(english.forms.flatMap(Catalog.placeholders))
            for form in korean.forms {
                #expect(Set(Catalog.placeholders(form)) == englishNames, "\(key): \(form)")
            }
            switch (english, korean) {
            case (.text, .text): break
            case let (.plural(a, _, _), .plural(b, _, _)): #expect(a == b, "\(key): plural on \(a) / \(b)")
            default: Issue.record("\(key): a plural in one language, plain text in the other")
            }
        }
    }

    @Test("every key a template uses exists, and is plain text (a template cannot choose a plural form)")
    func templateKeysExist() throws {
        let used = try Self.templateKeys()
        #expect(used.count > 150)
        for (key, file) in used {
            switch Catalog.tables[.en]![key] {
            case .text?: break
            case .plural?: Issue.record("\(file): \(key) is a plural; the controller must choose its form")
            case nil: Issue.record("\(file): \(key) is not in the catalog")
            }
        }
    }

    @Test("every key a Swift file names exists")
    func swiftKeysExist() throws {
        // Message("key") and Refusal(.reason, "key"): the first string literal in them.
        let pattern = try NSRegularExpression(pattern: #"(?:Message\(|Refusal\(\.[a-zA-Z]+(?:\([^)]*\))?, )"([a-z_]+(?:\.[a-z_0-9]+)+)""#)
        let text = try Self.swiftText()
        let keys = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(text[Range($0.range(at: 1), in: text)!])
        }
        #expect(keys.count > 100)
        for key in Set(keys) { #expect(Catalog.tables[.en]![key] != nil, "\(key) is used but not in the catalog") }
    }

    @Test("no key is unused")
    func noUnusedKeys() throws {
        let templateKeys = Set(try Self.templateKeys().map(\.key))
        let swift = try Self.swiftText()
        for key in Catalog.tables[.en]!.keys.sorted() {
            let used = templateKeys.contains(key) || swift.contains("\"\(key)\"")
                || Self.dynamicFamilies.contains { key.hasPrefix($0) }
            #expect(used, "\(key) is in the catalog but nothing uses it")
        }
    }

    @Test("Korean is written in Korean, not left in English")
    func koreanIsKorean() {
        // Entries that are the same in both are names or symbols ("{{style}}, {{date}}").
        for (key, english) in Catalog.tables[.en]! {
            guard case let .text(en)? = Optional(english), case let .text(ko)? = Catalog.tables[.ko]![key] else { continue }
            let letters = en.unicodeScalars.filter { $0.properties.isAlphabetic }.count
            let words = Catalog.placeholders(en).joined()
            if en == ko && letters > words.count + 4 { Issue.record("\(key) is not translated") }
        }
    }
}

@Suite("Messages")
struct MessageTests {
    @Test("placeholders are filled; numbers grouped; messages nest in the same language")
    func filling() {
        let m = Message("upload.model_missing", ["style": .message(Message("style.hayao"))])
        #expect(m.text(in: .en) == "The Hayao model is not installed on this server.")
        #expect(m.text(in: .ko) == "이 서버에는 하야오 모델이 설치되어 있지 않습니다.")
        #expect(Message("movie.notes_too_long", ["max": 4000]).text(in: .en) == "Notes have at most 4,000 characters.")
        #expect(Message.verbatim("우리집 {{고양이}}").text(in: .ko) == "우리집 {{고양이}}")
        #expect(Message("no.such.key").text(in: .ko) == "no.such.key") // visible, never blank
        #expect(Catalog.format(-1234567, in: .en) == "-1,234,567" && Catalog.format(12, in: .ko) == "12")
    }

    @Test("a message kept as JSON (a failed job's reason) comes back whole, in either language")
    func json() throws {
        let message = Message("photo.too_small", ["file": .message(Message("photo.unnamed")), "min": 64])
        let back = try #require(Message(json: message.json))
        #expect(back == message && back.text(in: .ko).hasPrefix("사진: 사진이 너무 작거나"))
        #expect(Message(json: #"{"key":"job.interrupted","arguments":{"attempts":3}}"#)?.text(in: .ko)
                == "이 작업은 3번 중단되어(처리하던 워커가 멈춤) 더는 시도하지 않습니다. 다시 한 번 보내 주세요.")
        #expect(Message(json: "not json") == nil)
    }

    @Test("plural rules: English one/other, Korean other only", arguments: [
        (1, Language.en, "Too many failed sign-ins. Try again in 1 second."),
        (30, .en, "Too many failed sign-ins. Try again in 30 seconds."),
        (0, .en, "Too many failed sign-ins. Try again in 0 seconds."),
        (1, .ko, "로그인에 너무 여러 번 실패했습니다. 1초 뒤에 다시 해 보세요."),
    ])
    func plurals(n: Int, language: Language, text: String) {
        #expect(Message("auth.throttled", ["seconds": .number(n)]).text(in: language) == text)
    }
}

@Suite("Choosing the language")
struct NegotiationTests {
    @Test("Accept-Language with q-values (RFC 9110 §12.5.4)", arguments: [
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", Language.ko as Language?),
        ("en-US,en;q=0.9,ko;q=0.8", .en),
        ("ko", .ko), ("KO-kr", .ko), ("en-GB", .en),
        ("fr-FR, ko;q=0.5, en;q=0.4", .ko),      // French first, but we have none: the best we have
        ("en;q=0.5, ko;q=0.6", .ko),             // weights, not order
        ("ko;q=0.8, en;q=0.8", .ko),             // equal weights: the first listed
        ("ko;q=0, en;q=0.1", .en),               // q=0: not acceptable
        ("ko;q=0", nil), ("fr, de", nil), ("", nil),
        ("*", .en), ("ko;q=0.3, *;q=0.5", .en),  // * stands for the languages not named
        ("ko;q=abc", nil), ("ko;q=2", nil),      // a malformed weight is not a yes
        ("  ko-KR ;  q=0.9 ,en;q=0.1", .ko),
    ])
    func negotiate(field: String, expected: Language?) {
        #expect(Language.negotiate(field) == expected)
    }

    @Test("the switch's cookie outranks the header; nothing at all is English")
    func choose() {
        #expect(Language.choose(cookie: "en", acceptLanguage: "ko-KR") == .en)
        #expect(Language.choose(cookie: "ko", acceptLanguage: "en") == .ko)
        #expect(Language.choose(cookie: "xx", acceptLanguage: "ko") == .ko) // an unknown cookie is ignored
        #expect(Language.choose(cookie: nil, acceptLanguage: nil) == .en)
    }
}
