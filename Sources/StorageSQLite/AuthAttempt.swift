import Foundation
import GRDB
import StorageCore

/// Sign-in and sign-up attempts in SQLite (table `auth_attempt`); the rules are `AuthAttempts`'.
public struct SQLiteAuthAttempts: AuthAttemptStore {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func reserveLogin(username: String, address: String, policy: AuthAttempts.LoginPolicy, now: Date) throws -> AuthAttempts.Decision {
        let user = username.lowercased(), t = now.timeIntervalSince1970, since = t - policy.window
        return try database.pool.write { db in
            try db.execute(sql: "DELETE FROM auth_attempt WHERE at < ?", arguments: [AuthAttempts.forgetBefore(t, policy: policy)])
            func failures(_ condition: String, _ arguments: StatementArguments, limit: Int) throws -> [Double] {
                try Double.fetchAll(db, sql: """
                    SELECT at FROM auth_attempt WHERE kind = 'login' AND failed = 1 AND at > ? AND \(condition)
                    ORDER BY at DESC LIMIT ?
                    """, arguments: [since] + arguments + [limit])
            }
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), max(at) FROM auth_attempt WHERE kind = 'login' AND failed = 1 AND at > ? AND username = ?
                """, arguments: [since, user])
            let counted = AuthAttempts.LoginFailures(
                pair: try failures("username = ? AND address = ?", [user, address], limit: policy.perUsernameAndAddress),
                address: try failures("address = ?", [address], limit: policy.perAddress),
                usernameCount: row?[0] ?? 0, usernameLatest: row?[1])
            return try AuthAttempts.decision(wait: AuthAttempts.loginWait(counted, policy: policy, at: t)) {
                try db.execute(sql: "INSERT INTO auth_attempt (kind, username, address, at, failed) VALUES ('login', ?, ?, ?, 1)",
                               arguments: [user, address, t])
                return db.lastInsertedRowID
            }
        }
    }

    public func loginSucceeded(attempt: Int64, username: String) throws {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM auth_attempt WHERE kind = 'login' AND (id = ? OR username = ?)",
                           arguments: [attempt, username.lowercased()])
        }
    }

    public func reserveSignup(address: String, policy: AuthAttempts.SignupPolicy, now: Date) throws -> AuthAttempts.Decision {
        let t = now.timeIntervalSince1970
        return try database.pool.write { db in
            let recent = try Double.fetchAll(db, sql: """
                SELECT at FROM auth_attempt WHERE kind = 'signup' AND address = ? AND at > ? ORDER BY at DESC LIMIT ?
                """, arguments: [address, t - policy.window, policy.perAddress])
            return try AuthAttempts.decision(wait: AuthAttempts.signupWait(recent, policy: policy, at: t)) {
                try db.execute(sql: "INSERT INTO auth_attempt (kind, username, address, at, failed) VALUES ('signup', NULL, ?, ?, 0)",
                               arguments: [address, t])
                return db.lastInsertedRowID
            }
        }
    }
}
