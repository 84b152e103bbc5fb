/// Rules for usernames and passwords, stated where people read them (the sign-up page shows
/// `usernameRule` and `passwordRule`).
public enum Credentials {
    public static let usernameRule = "3–32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
    public static let passwordRule = "10–256 characters; not a common password, not your username"
    public static let minPasswordLength = 10
    public static let maxPasswordLength = 256

    /// nil when acceptable, else why not.
    public static func problem(username: String) -> String? {
        let scalars = Array(username.unicodeScalars)
        guard (3...32).contains(scalars.count) else { return "A username has 3 to 32 characters." }
        guard scalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) })
        else { return "A username uses only letters, digits, '.', '_' and '-'." }
        guard let first = scalars.first, first.properties.isAlphabetic || ("0"..."9").contains(first) else {
            return "A username starts with a letter or a digit."
        }
        return nil
    }

    public static func problem(password: String, username: String) -> String? {
        let count = password.count
        if count < minPasswordLength { return "A password has at least \(minPasswordLength) characters." }
        if count > maxPasswordLength { return "A password has at most \(maxPasswordLength) characters." }
        let lower = password.lowercased()
        if lower.contains(username.lowercased()) && username.count >= 3 { return "A password must not contain the username." }
        if Set(lower).count <= 2 { return "That password is too easy to guess." }
        // Common ones, also with up to four digits or symbols tacked on ("password123!").
        let base = String(lower.reversed().drop { !$0.isLetter }.reversed())
        if commonPasswords.contains(lower) || (commonPasswords.contains(base) && lower.count - base.count <= 4) {
            return "That password is one of the most common ones; choose another."
        }
        if isSequence(lower) { return "That password is too easy to guess." }
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
