import Crypto
import Foundation

/// Session tokens: JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (RFC 7515 §A.1), and
/// nothing else. Verification is strict: exactly three base64url parts without padding, a header
/// whose `alg` is exactly "HS256" (so never "none"), a valid signature, and claims that are
/// present, well typed and current.
public struct JWTSigner: Sendable {
    let key: SymmetricKey
    /// Clock skew tolerated for `iat`/`nbf`.
    public var leeway: TimeInterval = 60

    public init(secret: [UInt8]) {
        precondition(secret.count >= 32, "an HS256 secret needs at least 256 bits")
        key = SymmetricKey(data: secret)
    }

    public struct Claims: Sendable, Equatable, Codable {
        /// The user id.
        public var sub: String
        public var iat: Int
        public var exp: Int
        /// Token id, for revocation.
        public var jti: String
        /// The account's session generation when the token was issued (a private claim, RFC 7519
        /// §4.3): changing the password moves the account to the next one, which ends every
        /// token of an earlier generation at once. Absent in tokens from before it existed (0).
        public var gen: Int

        public init(sub: String, iat: Int, exp: Int, jti: String, gen: Int = 0) {
            self.sub = sub
            self.iat = iat
            self.exp = exp
            self.jti = jti
            self.gen = gen
        }
    }

    public enum Rejection: Error, Equatable, Sendable {
        case malformed, unsupportedAlgorithm, badSignature, expired, notYetValid, missingClaims
    }

    /// A token for `subject`, valid for `lifetime` seconds from `now`.
    public func issue(subject: String, generation: Int = 0, lifetime: TimeInterval = 7 * 86400, now: Date = Date()) -> (token: String, claims: Claims) {
        let iat = Int(now.timeIntervalSince1970)
        let claims = Claims(sub: subject, iat: iat, exp: iat + Int(lifetime), jti: Self.randomID(), gen: generation)
        let header = Self.base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let payload = Self.base64URL(Array(try! encoder.encode(claims))) // encoding five plain fields cannot fail
        let input = header + "." + payload
        return (input + "." + Self.base64URL(signature(input)), claims)
    }

    public func verify(_ token: String, now: Date = Date()) throws(Rejection) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count <= 4096,
              let headerBytes = Self.decodeBase64URL(parts[0]), let payloadBytes = Self.decodeBase64URL(parts[1]),
              let signatureBytes = Self.decodeBase64URL(parts[2]) else { throw .malformed }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else { throw .malformed }
        // Only HS256; a "crit" header would name extensions we do not implement (RFC 7515 §4.1.11).
        guard header.alg == "HS256", header.crit == nil else { throw .unsupportedAlgorithm }
        if let typ = header.typ, typ.uppercased() != "JWT" { throw .malformed }
        let input = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard HMAC<SHA256>.isValidAuthenticationCode(signatureBytes, authenticating: input, using: key) else {
            throw .badSignature
        }
        // Typed decoding: `true`, 1.5 or "123" are not integers, an empty sub or jti is refused.
        guard let claims = try? JSONDecoder().decode(Payload.self, from: Data(payloadBytes)),
              !claims.sub.isEmpty, !claims.jti.isEmpty else { throw .missingClaims }
        let t = now.timeIntervalSince1970
        guard Double(claims.exp) > t else { throw .expired }
        guard Double(claims.iat) <= t + leeway, Double(claims.nbf ?? claims.iat) <= t + leeway else { throw .notYetValid }
        guard (claims.gen ?? 0) >= 0 else { throw .missingClaims }
        return Claims(sub: claims.sub, iat: claims.iat, exp: claims.exp, jti: claims.jti, gen: claims.gen ?? 0)
    }

    struct Header: Decodable {
        var alg: String
        var typ: String?
        var crit: [String]?
    }

    struct Payload: Decodable {
        var sub: String
        var iat: Int
        var exp: Int
        var jti: String
        var nbf: Int?
        var gen: Int?
    }

    /// HMAC-SHA256 of `input` under this key (also used for CSRF tokens).
    func signature<S: Sequence>(_ input: S) -> [UInt8] where S.Element == UInt8 {
        Array(HMAC<SHA256>.authenticationCode(for: Array(input), using: key))
    }

    func signature(_ input: String) -> [UInt8] { signature(Array(input.utf8)) }

    /// 128 random bits in base64url (token ids, job ids, visitor seeds).
    public static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return base64URL((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// base64url without padding (RFC 4648 §5; RFC 7515 §2 drops the "=").
    public static func base64URL(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        switch bytes.count - i {
        case 1:
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)]]
        case 2:
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Each byte's 6-bit value in `alphabet`, or 0xFF for a byte that is not in it.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    /// Strict base64url: URL-safe alphabet only, no padding, no whitespace, canonical final bits
    /// (the unused low bits of the last character are zero), so each token has one spelling.
    public static func decodeBase64URL<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let utf8 = text.utf8
        guard utf8.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count * 3 / 4)
        var accumulator: UInt32 = 0, bits = 0
        for byte in utf8 {
            let value = values[Int(byte)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // Left over: 2 bits (after 2 or 6 characters) or 4 bits (after 3): they must be zero.
        guard accumulator == 0 else { return nil }
        return out
    }
}
