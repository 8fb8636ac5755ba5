#if canImport(Glibc)
import Glibc
#endif
import BenchmarkSupport

/// The programs beside relay-client: socat and ncat (installed with apt-get when missing
/// and the benchmark runs as root), and setpriv, which ties every child's life to the
/// benchmark's.
struct PeerTools {
    var socat: String?
    var ncat: String?
    var setpriv: String?
    /// Install commands run, for the report.
    var installed: [String] = []
    /// Why a row cannot run, by row name.
    var missing: [String: String] = [:]

    /// The words put in front of every child's command (`setpriv --pdeathsig KILL`).
    var deathGuard: [String] { setpriv.map { [$0, "--pdeathsig", "KILL"] } ?? [] }

    static func find(peers: Bool, install: Bool) -> PeerTools {
        var tools = PeerTools(setpriv: onPath("setpriv"))
        guard peers else { return tools }
        for (row, package) in [("socat", "socat"), ("ncat", "ncat")] {
            var path = onPath(row)
            if path == nil, install, geteuid() == 0, onPath("apt-get") != nil {
                Progress.say("installing \(package): apt-get install -y \(package)")
                let command = "DEBIAN_FRONTEND=noninteractive apt-get install -y \(package) || "
                    + "(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \(package))"
                if shell(command) { tools.installed.append("apt-get install -y \(package)") }
                path = onPath(row)
            }
            if path == nil {
                tools.missing[row] = install
                    ? "\(row) is not on the PATH and apt-get install \(package) failed or was not possible (not root?)"
                    : "\(row) is not on the PATH (apt-get install \(package))"
            }
            if row == "socat" { tools.socat = path } else { tools.ncat = path }
        }
        return tools
    }

    /// `name` on the PATH, if it is there.
    static func onPath(_ name: String) -> String? { ExecutableLookup.onPath(name) }

    /// `/bin/sh -c command` with its output discarded; true when it exits 0.
    private static func shell(_ command: String) -> Bool {
        guard let child = try? Child(["/bin/sh", "-c", command], label: "install", deathGuard: [],
                                     stdin: .path("/dev/null"), stdout: .path("/dev/null"), stderrPath: "/dev/null")
        else { return false }
        return child.waitForExit(within: 600)?.exitCode == 0
    }
}

/// Progress lines on standard error (standard output is the report).
enum Progress {
    static func say(_ text: String) {
        let line = "bench-pipe: " + text + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
