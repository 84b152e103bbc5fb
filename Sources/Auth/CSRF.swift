/// Anti-CSRF tokens tied to a session: HMAC(secret, "csrf:" + session token id). Stateless;
/// a token from one session is useless in another, and a signed-out visitor gets one tied to
/// a random value kept in a cookie (the double-submit pattern).
public struct CSRFTokens: Sendable {
    let signer: JWTSigner

    public init(signer: JWTSigner) { self.signer = signer }

    public func token(for session: String) -> String {
        JWTSigner.base64URL(signer.signature("csrf:" + session))
    }

    public func isValid(_ token: String?, for session: String) -> Bool {
        guard let token, let given = JWTSigner.decodeBase64URL(token) else { return false }
        return constantTimeEquals(given, signer.signature("csrf:" + session))
    }
}
