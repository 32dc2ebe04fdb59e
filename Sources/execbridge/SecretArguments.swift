import Glibc

/// Overwrites the values of secret options in the process's own argv memory, which is what every
/// local user reads in /proc/PID/cmdline (as mysql does for `-pPASSWORD`). ArgumentParser has
/// already parsed its copy. What remains: the moment between exec and this call, and whatever
/// copied the command line before (a shell's history, `ps` run at that moment).
enum SecretArguments {
    static let options = ["--backend-token"]

    static func scrub(_ names: [String] = options) {
        let count = Int(CommandLine.argc)
        let argv = CommandLine.unsafeArgv
        var index = 1
        while index < count, let argument = argv[index] {
            let text = String(cString: argument)
            if text == "--" { return }
            for name in names {
                if text == name, index + 1 < count, let value = argv[index + 1] {
                    blank(value, from: 0)
                    index += 1
                } else if text.hasPrefix(name + "=") {
                    blank(argument, from: name.utf8.count + 1)
                }
            }
            index += 1
        }
    }

    private static func blank(_ string: UnsafeMutablePointer<CChar>, from offset: Int) {
        let length = strlen(string)
        guard length > offset else { return }
        memset(string + offset, Int32(UInt8(ascii: "x")), length - offset)
    }
}
