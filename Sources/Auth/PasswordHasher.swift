import CXCrypt
import Crypto
import Foundation

/// bcrypt (`$2b$`) password hashes through libxcrypt.
///
/// bcrypt reads at most 72 bytes and stops at a NUL, so the password is first reduced to
/// base64(HMAC-SHA256(password)): 44 printable bytes that depend on every byte of a passphrase of
/// any length. (The HMAC key is a fixed domain separator, not a secret.)
public struct PasswordHasher: Sendable {
    public let cost: Int
    /// A hash of a random password at the same cost: verifying an unknown user against it takes
    /// as long as verifying a real one, so timing does not reveal which usernames exist.
    private let dummyHash: String

    /// - Parameter cost: bcrypt's log2 rounds; 12 in production (≈0.17 s here), 4 in tests.
    public init(cost: Int = 12) throws {
        precondition((4...31).contains(cost), "bcrypt cost is 4...31")
        self.cost = cost
        dummyHash = try Self.hash(UUID().uuidString, cost: cost)
    }

    public struct HashingError: Error, CustomStringConvertible {
        public let description: String
    }

    static let prehashKey = SymmetricKey(data: Array("artworker/bcrypt-prehash/v1".utf8))

    static func prehash(_ password: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Array(password.utf8), using: prehashKey)).base64EncodedString()
    }

    /// A new `$2b$` hash with a fresh salt (libxcrypt draws it from the OS).
    public func hash(_ password: String) throws -> String {
        try Self.hash(password, cost: cost)
    }

    static func hash(_ password: String, cost: Int) throws -> String {
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, &setting, Int32(setting.count)) != nil else {
            throw HashingError(description: "libxcrypt cannot make a bcrypt salt")
        }
        let salt = String(decoding: setting.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let result = Self.crypt(Self.prehash(password), setting: salt), result.hasPrefix("$2b$") else {
            throw HashingError(description: "bcrypt failed")
        }
        return result
    }

    /// Whether `password` matches `storedHash`; `nil` hash (unknown user) costs the same and fails.
    public func verify(_ password: String, against storedHash: String?) -> Bool {
        let target = storedHash ?? dummyHash
        guard let computed = Self.crypt(Self.prehash(password), setting: target) else { return false }
        let equal = constantTimeEquals(Array(computed.utf8), Array(target.utf8))
        return equal && storedHash != nil
    }

    /// crypt_r with its 32 KB work area on the heap; nil on libxcrypt's failure tokens ("*0"/"*1").
    static func crypt(_ phrase: String, setting: String) -> String? {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size) // crypt_r requires a zeroed area on first use
        guard let out = crypt_r(phrase, setting, data) else { return nil }
        let result = String(cString: out)
        return result.hasPrefix("*") ? nil : result
    }
}

/// Compares without an early exit, so the time does not depend on where inputs first differ.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count { difference |= a[i] ^ b[i] }
    return difference == 0
}
