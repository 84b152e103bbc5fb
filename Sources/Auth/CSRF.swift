/// Anti-CSRF tokens tied to a session: HMAC(secret, "csrf:" + session token id). Stateless;
/// a token from one session is useless in another, and a signed-out visitor gets one tied to
/// a random value kept in a cookie (the double-submit pattern).
public struct CSRFTokens: Sendable {
    let signer: JWTSigner

    public init(signer: JWTSigner) { self.signer = signer }

    public func token(for session: String) -> String {
        JWTSigner.base64URL(signer.signature("csrf:" + session))
    }

    /// Who a signed-out visitor is, for keeping what they made: HMAC(secret, "visitor:" +
    /// their cookie's random value), 64 hex digits. Stored beside a visitor's result, it lets
    /// the same browser claim the result when it signs up, and no one else (the cookie's value
    /// never leaves that browser; the stored key cannot be turned back into it).
    public func visitorKey(_ seed: String) -> String {
        signer.signature("visitor:" + seed).map { String(format: "%02x", $0) }.joined()
    }

    public func isValid(_ token: String?, for session: String) -> Bool {
        guard let token, let given = JWTSigner.decodeBase64URL(token) else { return false }
        return constantTimeEquals(given, signer.signature("csrf:" + session))
    }
}
