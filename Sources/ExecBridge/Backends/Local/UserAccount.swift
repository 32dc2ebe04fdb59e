import Glibc

/// Who a child runs as, resolved from the inventory's `user` (`name`, `uid`, `name:group`, `uid:gid`)
/// before spawning: the child cannot consult /etc/passwd between fork and exec.
struct UserAccount: Equatable, Sendable {
    var uid: uid_t
    var gid: gid_t
    /// Supplementary groups (the primary one included).
    var groups: [gid_t]
    var home: String

    struct Unknown: Error, Equatable, Sendable {
        var message: String
    }

    /// The account for `spec`, or a message saying why there is none.
    static func resolve(_ spec: String) -> Result<UserAccount, Unknown> {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts[0]
        let groupPart = parts.count > 1 ? parts[1] : nil
        guard !userPart.isEmpty, groupPart.map({ !$0.isEmpty }) ?? true else {
            return .failure(Unknown(message: "invalid user \"\(spec)\": expected name, uid, name:group or uid:gid"))
        }

        let entry: PasswdEntry?
        let uid: uid_t
        if let number = uid_t(userPart) {
            uid = number
            entry = PasswdEntry.lookup(uid: number)
        } else {
            guard let found = PasswdEntry.lookup(name: userPart) else {
                return .failure(Unknown(message: "unable to find user \(userPart): no matching entries in passwd file"))
            }
            entry = found
            uid = found.uid
        }

        let gid: gid_t
        if let groupPart {
            if let number = gid_t(groupPart) {
                gid = number
            } else if let found = lookupGroup(name: groupPart) {
                gid = found
            } else {
                return .failure(Unknown(message: "unable to find group \(groupPart): no matching entries in group file"))
            }
        } else if let entry {
            gid = entry.gid
        } else {
            // No passwd entry to take the primary group from; refuse rather than guess (root's group 0, say).
            return .failure(Unknown(message: "user \(userPart) has no passwd entry: give its group as \"\(userPart):GID\""))
        }

        var groups = [gid]
        if let entry {
            groups = supplementaryGroups(of: entry.name, primary: gid)
        }
        return .success(UserAccount(uid: uid, gid: gid, groups: groups, home: entry?.home ?? "/"))
    }

    /// The home directory of the gateway's own user, for HOME when no user is set. Looked up once:
    /// a passwd lookup may go to the network (LDAP, sssd) and must not stall a loop per session.
    static func currentHome() -> String { ownHome }
    private static let ownHome = PasswdEntry.lookup(uid: geteuid())?.home ?? "/"

    /// Inventory users resolved once, at startup, for the same reason.
    static func resolveAll(_ specs: Set<String>) -> [String: Result<UserAccount, Unknown>] {
        var out: [String: Result<UserAccount, Unknown>] = [:]
        for spec in specs { out[spec] = resolve(spec) }
        return out
    }

    private static func supplementaryGroups(of name: String, primary: gid_t) -> [gid_t] {
        var count: Int32 = 32
        while count < 65536 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var found = count
            if getgrouplist(name, primary, &groups, &found) >= 0 {
                return Array(groups.prefix(Int(found)))
            }
            count = max(found, count * 2)
        }
        return [primary]
    }

    private static func lookupGroup(name: String) -> gid_t? {
        var size = max(sysconf(Int32(_SC_GETGR_R_SIZE_MAX)), 4096)
        while size <= 1 << 20 {
            var group = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            var buffer = [CChar](repeating: 0, count: size)
            let error = getgrnam_r(name, &group, &buffer, size, &result)
            if error == ERANGE { size *= 2; continue }
            guard error == 0, let result else { return nil }
            return result.pointee.gr_gid
        }
        return nil
    }
}

/// The fields of a passwd entry the backend needs, copied out of getpwnam_r's buffer.
struct PasswdEntry {
    var name: String
    var uid: uid_t
    var gid: gid_t
    var home: String

    static func lookup(name: String) -> PasswdEntry? {
        lookup { getpwnam_r(name, &$0, $1, $2, &$3) }
    }

    static func lookup(uid: uid_t) -> PasswdEntry? {
        lookup { getpwuid_r(uid, &$0, $1, $2, &$3) }
    }

    private static func lookup(
        _ call: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> PasswdEntry? {
        var size = max(sysconf(Int32(_SC_GETPW_R_SIZE_MAX)), 4096)
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let error = call(&entry, buffer, size, &result)
            if error == ERANGE { size *= 2; continue }
            guard error == 0, let result else { return nil }
            return PasswdEntry(name: String(cString: result.pointee.pw_name), uid: result.pointee.pw_uid,
                               gid: result.pointee.pw_gid, home: String(cString: result.pointee.pw_dir))
        }
        return nil
    }
}
