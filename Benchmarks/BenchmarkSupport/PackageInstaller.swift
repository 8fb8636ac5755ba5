#if canImport(Glibc)
import Glibc
#endif

/// How the benchmarks get the peer programs they compare against (socat, ncat) when the
/// machine lacks them: `apt-get install -y PACKAGE` as root, once more after
/// `apt-get update` if the first try fails. Every benchmark says what it installed, and
/// why a row is missing when it could not.
public enum PackageInstaller {
    /// What came of looking for a program.
    public struct Outcome: Sendable {
        /// The program's path, if it is there now.
        public var path: String?
        /// The install command run, if one succeeded (for the report).
        public var installed: String?
        /// Why the program is missing, if it is.
        public var missingReason: String?

        public init(path: String? = nil, installed: String? = nil, missingReason: String? = nil) {
            self.path = path
            self.installed = installed
            self.missingReason = missingReason
        }
    }

    /// `program` on the PATH; when missing and `install` is set, installs `package` with
    /// apt-get (as root only) and looks again. `say` gets a progress line before the
    /// install, which may take a minute.
    public static func find(_ program: String, package: String, install: Bool, say: (String) -> Void) -> Outcome {
        if let path = ExecutableLookup.onPath(program) { return Outcome(path: path) }
        guard install else {
            return Outcome(missingReason: "\(program) is not on the PATH (apt-get install \(package))")
        }
        guard geteuid() == 0, ExecutableLookup.onPath("apt-get") != nil else {
            return Outcome(missingReason: "\(program) is not on the PATH and cannot be installed here (apt-get install \(package) needs root and apt-get)")
        }
        say("installing \(package): apt-get install -y \(package)")
        let command = "DEBIAN_FRONTEND=noninteractive apt-get install -y \(package) || "
            + "(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \(package))"
        let succeeded = shell(command)
        if let path = ExecutableLookup.onPath(program) {
            return Outcome(path: path, installed: succeeded ? "apt-get install -y \(package)" : nil)
        }
        return Outcome(missingReason: "\(program) is not on the PATH and apt-get install \(package) failed")
    }

    /// `/bin/sh -c command` with its output discarded; true when it exits 0.
    public static func shell(_ command: String) -> Bool {
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { return false }
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [0, 1, 2] {
            let flags = descriptor == 0 ? O_RDONLY : O_WRONLY
            guard posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", flags, 0) == 0 else { return false }
        }
        let arguments = ["/bin/sh", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, "/bin/sh", &actions, nil, &argv, environ) == 0 else { return false }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return false }
        }
        // WIFEXITED and WEXITSTATUS are macros Swift cannot import.
        return status & 0x7f == 0 && (status >> 8) & 0xff == 0
    }
}
