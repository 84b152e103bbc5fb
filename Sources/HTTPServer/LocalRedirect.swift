/// Redirect targets that come from a request (`?next=…`, a form's `next` field) must stay on
/// this site, or the site becomes a trampoline to any other (an "open redirect").
///
/// The rule is deliberately narrower than a URL parser, because browsers repair what they read
/// in `Location` (RFC 9110 §10.2.2) by the WHATWG URL Standard, not by RFC 3986:
/// - one leading "/" (an absolute path, RFC 3986 §4.2); "//host" is a network-path reference,
///   and a browser reads "/\host" the same way, since it treats "\" as "/" in http(s) URLs;
/// - no control character and no space anywhere: the URL parser *removes* tab, LF and CR
///   (URL Standard §4.4, basic URL parser, step 3), so "/\t/evil.example" becomes
///   "//evil.example"; other controls and C1 codes have no business in a path either;
/// - no backslash anywhere, so nothing can turn into a "//" after that repair.
/// Other characters outside ASCII are percent-encoded (RFC 3986 §2.1), so the header holds
/// only visible ASCII.
public enum LocalRedirect {
    /// `candidate` as a safe same-site target, or nil when it is not one.
    public static func path(_ candidate: String?) -> String? {
        guard let candidate, candidate.utf8.first == UInt8(ascii: "/") else { return nil }
        var out = ""
        var previous: Unicode.Scalar? = nil
        for scalar in candidate.unicodeScalars {
            switch scalar.value {
            case 0...0x20, 0x7F...0x9F, 0x2028, 0x2029: return nil // controls, space, C1, line separators
            case 0x5C: return nil // "\"
            case 0x2F where previous == "/" && out.utf8.count == 1: return nil // "//" at the start
            case 0x21...0x7E: out.unicodeScalars.append(scalar)
            default:
                for byte in String(scalar).utf8 { out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) }
            }
            previous = scalar
        }
        return out
    }
}
