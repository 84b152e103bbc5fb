@testable import Auth
import Foundation
import Testing

@Suite("Passwords")
struct PasswordTests {
    static let hasher = try! PasswordHasher(cost: 4)

    @Test("hash and verify; wrong passwords and unknown users fail")
    func hashAndVerify() throws {
        let hash = try Self.hasher.hash("correct horse battery staple")
        #expect(hash.hasPrefix("$2b$04$") && hash.count == 60)
        #expect(Self.hasher.verify("correct horse battery staple", against: hash))
        #expect(!Self.hasher.verify("correct horse battery stapler", against: hash))
        #expect(!Self.hasher.verify("", against: hash))
        #expect(!Self.hasher.verify("correct horse battery staple", against: nil)) // unknown user
        #expect(!Self.hasher.verify("x", against: "not a hash"))
        #expect(try Self.hasher.hash("same") != Self.hasher.hash("same")) // fresh salt each time
    }

    @Test("every byte of a long passphrase counts (bcrypt alone stops at 72)")
    func longPassphrases() throws {
        let prefix = String(repeating: "a", count: 100)
        let hash = try Self.hasher.hash(prefix + "1")
        #expect(Self.hasher.verify(prefix + "1", against: hash))
        #expect(!Self.hasher.verify(prefix + "2", against: hash))
        #expect(!Self.hasher.verify(prefix, against: hash))
    }

    @Test("an unknown user costs as much as a wrong password")
    func unknownUserTiming() throws {
        let hasher = try PasswordHasher(cost: 8) // ~15 ms: large against scheduling noise
        let hash = try hasher.hash("some password here")
        func median(_ body: () -> Void) -> Double {
            (0..<5).map { _ in let t = Date(); body(); return Date().timeIntervalSince(t) }.sorted()[2]
        }
        let wrong = median { _ = hasher.verify("not the password", against: hash) }
        let unknown = median { _ = hasher.verify("not the password", against: nil) }
        #expect(unknown > wrong * 0.5 && unknown < wrong * 2, "wrong \(wrong) s, unknown \(unknown) s")
    }

    @Test("username rules", arguments: [
        ("mei", true), ("Satsuki.K", true), ("no_face-2", true), ("7chihiro", true),
        ("ab", false), (String(repeating: "a", count: 33), false), ("_start", false), ("has space", false),
        ("émilie", false), ("a/b", false), ("", false),
    ])
    func usernames(name: String, ok: Bool) {
        #expect((Credentials.problem(username: name) == nil) == ok, "\(name)")
    }

    @Test("password rules", arguments: [
        ("a calm green river", true), ("Tr0ub4dor&3xyz", true), ("short1", false), ("password123", false),
        ("Password123!", false), ("qwertyuiop", false), ("1234567890", false), ("aaaaaaaaaaaa", false),
        ("ababababababab", false), ("abcdefghijkl", false), ("xx-kiki-delivery", false), (String(repeating: "x1y2", count: 65), false),
    ])
    func passwords(password: String, ok: Bool) {
        #expect((Credentials.problem(password: password, username: "kiki") == nil) == ok, "\(password)")
    }
}

@Suite("Session tokens (JWT HS256)")
struct JWTTests {
    static let signer = JWTSigner(secret: Array(repeating: 7, count: 32))
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func forge(header: String, payload: String, signWith signer: JWTSigner? = JWTTests.signer) -> String {
        let input = JWTSigner.base64URL(Array(header.utf8)) + "." + JWTSigner.base64URL(Array(payload.utf8))
        let signature = signer.map { JWTSigner.base64URL($0.signature(input)) } ?? ""
        return input + "." + signature
    }

    @Test("issue and verify")
    func roundTrip() throws {
        let (token, claims) = Self.signer.issue(subject: "42", lifetime: 3600, now: Self.now)
        #expect(claims.sub == "42" && claims.exp - claims.iat == 3600 && claims.jti.count >= 20)
        #expect(try Self.signer.verify(token, now: Self.now.addingTimeInterval(10)) == claims)
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
    }

    static let good = #"{"sub":"42","iat":1800000000,"exp":1800003600,"jti":"abc"}"#
    static let other = JWTSigner(secret: Array(repeating: 8, count: 32))

    @Test("bad tokens are rejected for the right reason", arguments: [
        ("alg none", forge(header: #"{"alg":"none","typ":"JWT"}"#, payload: good, signWith: nil), JWTSigner.Rejection.unsupportedAlgorithm),
        ("alg None, signed", forge(header: #"{"alg":"None"}"#, payload: good), .unsupportedAlgorithm),
        ("alg HS512", forge(header: #"{"alg":"HS512"}"#, payload: good), .unsupportedAlgorithm),
        ("alg RS256", forge(header: #"{"alg":"RS256"}"#, payload: good), .unsupportedAlgorithm),
        ("crit header", forge(header: #"{"alg":"HS256","crit":["exp"]}"#, payload: good), .unsupportedAlgorithm),
        ("wrong secret", forge(header: #"{"alg":"HS256"}"#, payload: good, signWith: other), .badSignature),
        ("tampered payload", tamper(forge(header: #"{"alg":"HS256"}"#, payload: good)), .badSignature),
        ("expired", forge(header: #"{"alg":"HS256"}"#, payload: #"{"sub":"42","iat":1799990000,"exp":1799999999,"jti":"a"}"#), .expired),
        ("issued in the future", forge(header: #"{"alg":"HS256"}"#, payload: #"{"sub":"42","iat":1800009000,"exp":1800019000,"jti":"a"}"#), .notYetValid),
        ("not before later", forge(header: #"{"alg":"HS256"}"#, payload: #"{"sub":"42","iat":1800000000,"exp":1800009000,"nbf":1800005000,"jti":"a"}"#), .notYetValid),
        ("no jti", forge(header: #"{"alg":"HS256"}"#, payload: #"{"sub":"42","iat":1800000000,"exp":1800003600}"#), .missingClaims),
        ("boolean iat", forge(header: #"{"alg":"HS256"}"#, payload: #"{"sub":"42","iat":true,"exp":1800003600,"jti":"a"}"#), .missingClaims),
        ("numeric sub", forge(header: #"{"alg":"HS256"}"#, payload: #"{"sub":42,"iat":1800000000,"exp":1800003600,"jti":"a"}"#), .missingClaims),
        ("typ not JWT", forge(header: #"{"alg":"HS256","typ":"JOSE+XML"}"#, payload: good), .malformed),
        ("two parts", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9", .malformed),
        ("four parts", forge(header: #"{"alg":"HS256"}"#, payload: good) + ".x", .malformed),
        ("padding", forge(header: #"{"alg":"HS256"}"#, payload: good) + "=", .malformed),
        ("standard base64 alphabet", forge(header: #"{"alg":"HS256"}"#, payload: good).replacingOccurrences(of: "-", with: "+") + "+", .malformed),
        ("header not JSON", JWTSigner.base64URL(Array("nope".utf8)) + ".e30.e30", .malformed),
        ("empty", "", .malformed),
    ])
    func rejected(name: String, token: String, reason: JWTSigner.Rejection) {
        #expect(throws: reason, "\(name)") { try Self.signer.verify(token, now: Self.now) }
    }

    static func tamper(_ token: String) -> String {
        let parts = token.split(separator: ".")
        let payload = JWTSigner.base64URL(Array(#"{"sub":"1","iat":1800000000,"exp":1800003600,"jti":"abc"}"#.utf8))
        return "\(parts[0]).\(payload).\(parts[2])"
    }
}

@Suite("base64url (RFC 4648 §5)")
struct Base64URLTests {
    @Test("every length round-trips and matches Foundation's base64 with the URL alphabet and no padding")
    func roundTrip() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(JWTSigner.base64URL(bytes) == expected)
            #expect(JWTSigner.decodeBase64URL(expected) == bytes)
        }
    }

    @Test("only one spelling of each byte string is accepted", arguments: [
        ("QQ", [UInt8(ascii: "A")]), ("QR", nil), ("QUI", [0x41, 0x42]), ("QUJ", nil),
        ("QUJD", [0x41, 0x42, 0x43]), ("Q", nil), ("QQ==", nil), ("Q+8", nil), ("Q/8", nil), ("QQ\n", nil), ("", []),
    ] as [(String, [UInt8]?)])
    func strict(text: String, expected: [UInt8]?) {
        #expect(JWTSigner.decodeBase64URL(text) == expected)
    }
}

@Suite("CSRF tokens")
struct CSRFTests {
    @Test("valid only for the session they were made for")
    func tiedToSession() {
        let csrf = CSRFTokens(signer: JWTTests.signer)
        let token = csrf.token(for: "session-a")
        #expect(csrf.isValid(token, for: "session-a"))
        #expect(!csrf.isValid(token, for: "session-b"))
        #expect(!csrf.isValid(nil, for: "session-a"))
        #expect(!csrf.isValid("", for: "session-a"))
        #expect(!csrf.isValid(token + "A", for: "session-a"))
        #expect(!CSRFTokens(signer: JWTTests.other).isValid(token, for: "session-a"))
    }
}
