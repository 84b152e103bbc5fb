/// `Content-Disposition` for responses (RFC 6266): whether a browser shows the body or saves it,
/// and under which name.
public enum ContentDisposition {
    /// `attachment` (save) or `inline` (show), with `filename` in any script.
    ///
    /// RFC 6266 §4.3: a name that is not plain ASCII goes in `filename*`, encoded as RFC 8187
    /// §3.2 says (`UTF-8''` and every byte outside attr-char percent-encoded), and a plain
    /// `filename=` fallback comes first for the few clients that do not read `filename*`
    /// (those that do prefer it, §4.3). The fallback is a quoted-string (RFC 9110 §5.6.4), so
    /// `"` and `\` are escaped, and it is limited to printable ASCII.
    public static func value(_ disposition: String, filename: String, fallback: String) -> String {
        var ascii = ""
        for scalar in fallback.unicodeScalars {
            switch scalar {
            case "\"", "\\": ascii += "\\" + String(scalar)
            case " "..."~": ascii.unicodeScalars.append(scalar)
            default: ascii += "_"
            }
        }
        var value = "\(disposition); filename=\"\(ascii)\""
        // Whenever the fallback is not the name itself, exactly: then the name goes in filename*.
        if filename != fallback || ascii != fallback {
            value += "; filename*=UTF-8''" + percentEncoded(filename)
        }
        return value
    }

    /// RFC 8187 §3.2.1: attr-char is ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." /
    /// "^" / "_" / "`" / "|" / "~"; every other byte of the UTF-8 form is %XX.
    static func percentEncoded(_ text: String) -> String {
        FormData.percentEncoded(text, keeping: attrChars)
    }

    static let attrChars = Set("!#$&+-.^_`|~".utf8)
}
