/// The one escaper for text that reaches HTML: element content, quoted attribute values, and
/// SVG drawn by hand. Templates (Template.swift) escape every `{{value}}` with it; the palette
/// plots and anything else built as a string call it directly.
///
/// It works on Unicode scalars (here: on UTF-8 bytes, which is the same for the ASCII
/// characters it replaces), never on Swift `Character`s. A `Character` is a grapheme cluster:
/// a prepended mark such as U+0600 before `<`, or a combining mark after `"`, forms one cluster
/// with it, so a per-`Character` table lookup never sees the `<` or `"` and lets it through
/// (HTML Standard §13.2.5: the tokenizer reads code points, not clusters).
public enum HTML {
    /// `&`, `<`, `>`, `"` and `'` as character references; every other scalar unchanged.
    public static func escape(_ text: String) -> String {
        // Most text has nothing to replace: hand it back without copying.
        guard text.utf8.contains(where: { replacement(for: $0) != nil }) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + text.utf8.count / 8 + 16)
        escape(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The same, appended to `out` as UTF-8 (templates render pages into bytes): runs of bytes
    /// with nothing to replace are copied whole.
    public static func escape(_ text: String, into out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for i in bytes.indices {
                guard let entity = replacement(for: bytes[i]) else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
                out.append(contentsOf: entity)
                start = i + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
    }

    /// The reference for a byte that must not appear raw, or nil. UTF-8 continuation and lead
    /// bytes are ≥ 0x80, so an ASCII byte here is always a whole scalar of its own.
    @inline(__always)
    static func replacement(for byte: UInt8) -> [UInt8]? {
        switch byte {
        case UInt8(ascii: "&"): amp
        case UInt8(ascii: "<"): lt
        case UInt8(ascii: ">"): gt
        case UInt8(ascii: "\""): quot
        case UInt8(ascii: "'"): apos
        default: nil
        }
    }

    static let amp = Array("&amp;".utf8), lt = Array("&lt;".utf8), gt = Array("&gt;".utf8)
    static let quot = Array("&quot;".utf8), apos = Array("&#39;".utf8)
}
