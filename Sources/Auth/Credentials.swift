/// Rules for usernames and passwords. A broken rule is a `Problem`; the app words it in the
/// reader's language (this module speaks to no one).
public enum Credentials {
    public static let minPasswordLength = 10
    public static let maxPasswordLength = 256

    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        case usernameLength, usernameCharacters, usernameStart
        case passwordShort, passwordLong, passwordHasUsername, passwordEasy, passwordCommon

        /// English, for logs and tests.
        public var description: String {
            switch self {
            case .usernameLength: "A username has 3 to 32 characters."
            case .usernameCharacters: "A username uses only letters, digits, '.', '_' and '-'."
            case .usernameStart: "A username starts with a letter or a digit."
            case .passwordShort: "A password has at least \(Credentials.minPasswordLength) characters."
            case .passwordLong: "A password has at most \(Credentials.maxPasswordLength) characters."
            case .passwordHasUsername: "A password must not contain the username."
            case .passwordEasy: "That password is too easy to guess."
            case .passwordCommon: "That password is one of the most common ones; choose another."
            }
        }
    }

    /// nil when acceptable, else why not.
    public static func problem(username: String) -> Problem? {
        let scalars = Array(username.unicodeScalars)
        guard (3...32).contains(scalars.count) else { return .usernameLength }
        guard scalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) })
        else { return .usernameCharacters }
        guard let first = scalars.first, first.properties.isAlphabetic || ("0"..."9").contains(first) else {
            return .usernameStart
        }
        return nil
    }

    public static func problem(password: String, username: String) -> Problem? {
        let count = password.count
        if count < minPasswordLength { return .passwordShort }
        if count > maxPasswordLength { return .passwordLong }
        let lower = password.lowercased()
        if lower.contains(username.lowercased()) && username.count >= 3 { return .passwordHasUsername }
        if Set(lower).count <= 2 { return .passwordEasy }
        // Common ones, also with up to four digits or symbols tacked on ("password123!").
        let base = String(lower.reversed().drop { !$0.isLetter }.reversed())
        if commonPasswords.contains(lower) || (commonPasswords.contains(base) && lower.count - base.count <= 4) {
            return .passwordCommon
        }
        if isSequence(lower) { return .passwordEasy }
        return nil
    }

    /// "1234567890", "abcdefghij", "0987654321": runs of consecutive characters.
    static func isSequence(_ s: String) -> Bool {
        let values = s.unicodeScalars.map { Int($0.value) }
        guard values.count >= 2 else { return true }
        let step = values[1] - values[0]
        return abs(step) == 1 && zip(values, values.dropFirst()).allSatisfy { $1 - $0 == step }
    }

    /// Frequently used passwords (lowercase), and bases that people pad with digits.
    static let commonPasswords: Set<String> = [
        "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "qwertyuiop",
        "qwerty123", "qwertyui", "asdfghjkl", "asdfgh", "zxcvbnm", "1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx", "qazwsx",
        "iloveyou", "princess", "sunshine", "football", "baseball", "basketball", "superman", "batman", "starwars",
        "dragon", "monkey", "letmein", "welcome", "welcome1", "admin", "administrator", "login", "master", "shadow",
        "trustno1", "whatever", "freedom", "computer", "internet", "michael", "jennifer", "jordan23", "charlie",
        "hello", "hello123", "helloworld", "secret", "changeme", "default", "abc123", "abcd1234", "aa123456",
        "123456", "1234567", "12345678", "123456789", "1234567890", "0987654321", "111111", "000000", "123123",
        "654321", "666666", "121212", "987654321", "123321", "1234qwer", "q1w2e3r4", "q1w2e3r4t5", "passwort",
        "motdepasse", "contraseña", "senha", "artworker", "cartoon", "anime", "totoro", "ghibli", "miyazaki",
        "naruto", "pokemon", "hunter2", "summer", "winter", "spring", "autumn", "liverpool", "chelsea", "arsenal",
        "mustang", "harley", "ranger", "soccer", "hockey", "tigger", "ginger", "pepper", "cookie", "cheese",
        "flower", "butterfly", "purple", "orange", "banana", "chocolate", "lovely", "loveme", "iloveu", "myspace",
        "facebook", "google", "linkedin", "twitter", "samsung", "apple", "microsoft", "windows", "linux", "ubuntu",
    ]
}
