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
        for row in ["socat", "ncat"] {
            let outcome = PackageInstaller.find(row, package: row, install: install, say: Progress.say)
            if let installed = outcome.installed { tools.installed.append(installed) }
            if let reason = outcome.missingReason { tools.missing[row] = reason }
            if row == "socat" { tools.socat = outcome.path } else { tools.ncat = outcome.path }
        }
        return tools
    }

    /// `name` on the PATH, if it is there.
    static func onPath(_ name: String) -> String? { ExecutableLookup.onPath(name) }
}

/// Progress lines on standard error (standard output is the report).
enum Progress {
    static func say(_ text: String) {
        let line = "bench-pipe: " + text + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
