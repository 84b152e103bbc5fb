/// The languages Artworker speaks. Adding one: a case here, its catalog file (every key of
/// `Catalog.english`, the same placeholders), and its plural rule in `Catalog.pluralCategory`.
public enum Language: String, CaseIterable, Sendable, Hashable {
    case en
    case ko

    /// What a visitor gets when nothing they send names a language we have.
    public static let fallback = Language.en

    /// The language's own name, for the switch on every page.
    public var endonym: String {
        switch self {
        case .en: "English"
        case .ko: "한국어"
        }
    }

    /// A visitor's language: an explicit choice (the `lang` cookie the switch sets) wins, then
    /// the browser's `Accept-Language`, then English.
    public static func choose(cookie: String?, acceptLanguage: String?) -> Language {
        if let cookie, let chosen = Language(rawValue: cookie) { return chosen }
        return negotiate(acceptLanguage) ?? fallback
    }

    /// The best of our languages for an `Accept-Language` field (RFC 9110 §12.5.4), or nil
    /// when it accepts none of them.
    ///
    /// The field is a list of language ranges (RFC 4647 §2.1), each with an optional weight
    /// (`;q=`, RFC 9110 §12.4.2: 0 to 1, three decimals at most; absent means 1; 0 means "not
    /// acceptable"). A range matches one of our languages when its primary subtag is that
    /// language (`ko-KR` and `ko` both mean Korean: the lookup of RFC 4647 §3.4 truncates a range
    /// until it matches); `*` matches every language not named elsewhere. Of the matches the
    /// highest weight wins; among equal weights, the range listed first (RFC 9110 leaves the
    /// order of equal weights to the server: the first is what browsers put first), and for
    /// a bare `*`, English.
    public static func negotiate(_ field: String?) -> Language? {
        guard let field else { return nil }
        var weights: [Language: (q: Double, position: Int)] = [:]
        var named = Set<Language>()
        var wildcard: (q: Double, position: Int)? = nil
        for (position, element) in field.split(separator: ",").prefix(64).enumerated() {
            let parts = element.split(separator: ";")
            guard let rangeText = parts.first?.trimmingWhitespace, !rangeText.isEmpty else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingWhitespace.lowercased() == "q" else { continue }
                guard let value = Double(pair[1].trimmingWhitespace), (0...1).contains(value) else { q = 0; break }
                q = value
            }
            let range = rangeText.lowercased()
            if range == "*" {
                if wildcard == nil { wildcard = (q, position) }
                continue
            }
            let primary = range.split(separator: "-", maxSplits: 1).first.map(String.init) ?? range
            guard let language = Language(rawValue: primary) else { continue }
            named.insert(language)
            // The most specific mention decides ("ko;q=0, ko-KR" still accepts ko-KR): keep the
            // highest weight any range gives this language.
            if let seen = weights[language], seen.q >= q { continue }
            weights[language] = (q, weights[language]?.position ?? position)
        }
        if let wildcard {
            for language in allCases where !named.contains(language) { weights[language] = wildcard }
        }
        // Highest weight; then the range listed first; then our own order (English first), so
        // `*` alone gives the fallback.
        func rank(_ language: Language) -> (Double, Int, Int) {
            let w = weights[language]!
            return (-w.q, w.position, allCases.firstIndex(of: language)!)
        }
        return weights.keys.filter { weights[$0]!.q > 0 }.min { rank($0) < rank($1) }
    }
}

extension Substring {
    var trimmingWhitespace: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
