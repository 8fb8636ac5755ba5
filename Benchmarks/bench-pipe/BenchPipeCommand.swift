import ArgumentParser
import BenchmarkSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `bench-pipe`: relay-client's pipe mode end to end through a local release relay-server
/// over TLS, beside socat and ncat moving the same bytes unencrypted (issue 13).
struct BenchPipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-pipe",
        abstract: "Measure relay-client --pipe end to end through relay-server over TLS, beside socat and ncat.",
        discussion: """
            One relay-client --pipe reads --bytes from its standard input (a pipe the \
            benchmark writes a cheap pseudo-random pattern into), a second one in the same \
            room writes them to its standard output, which the benchmark counts and \
            compares byte for byte with what was sent; both go through a relay-server on \
            127.0.0.1 with its default transport, TLS 1.3, its fingerprint pinned with \
            --fingerprint. Then socat and ncat (installed with apt-get when missing) move the same bytes through a relay \
            of their own kind. Reports MB/s end to end, CPU seconds per GiB and peak RSS of \
            every process (wait4), the machine and its load average before and after. \
            Every child runs under setpriv --pdeathsig KILL, so it dies with the benchmark.
            """
    )

    @Option(help: "Bytes each run moves (a number, or with K, M or G: binary units).")
    var bytes: ByteCount = ByteCount(1 << 30)

    @Option(help: "Runs per row; the rows take turns.")
    var runs = 3

    @Option(help: "Where relay-server and relay-client are (default: this executable's directory, the release bin path).")
    var binDir: String?

    @Flag(help: "Measure relay-client only: no socat and ncat rows.")
    var skipPeers = false

    @Flag(help: "Do not apt-get install socat or ncat when missing (skip their rows instead).")
    var noInstall = false

    @Flag(help: "Pass --trust-relay to both clients (seal under the relay's key instead of end to end).")
    var trustRelay = false

    @Flag(help: "Check the length only, not every byte.")
    var lengthOnly = false

    @Option(help: "Write the report as JSON to this file ('-': standard output, instead of the table).")
    var json: String?

    @Option(help: "A command put before the sending relay-client's (e.g. 'perf record -g -o /tmp/s.data --'); its CPU and RSS are then the wrapper's.")
    var senderWrapper: String?

    @Option(help: "A command put before the receiving relay-client's.")
    var receiverWrapper: String?

    @Option(help: "A command put before relay-server's.")
    var relayWrapper: String?

    func validate() throws {
        guard bytes.value > 0 else { throw ValidationError("--bytes must be at least 1") }
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let binDirectory = binDir ?? Self.executableDirectory()
        for program in ["relay-server", "relay-client"] where access(binDirectory + "/" + program, X_OK) != 0 {
            throw ValidationError("\(binDirectory)/\(program) is not an executable: build it (swift build -c release) or give --bin-dir")
        }
        var report = BenchReport(machine: MachineInfo.current())
        report.started = ISO8601DateFormatter().string(from: Date())
        report.loadBefore = MachineInfo.loadAverage()
        report.bytes = bytes.value
        report.runs = runs
        report.binDirectory = binDirectory
        report.comparedBytes = !lengthOnly
        let workDirectory = try WorkDirectory.make()
        defer { WorkDirectory.remove(workDirectory) }

        let features = try ClientFeatures.probe(relayClient: binDirectory + "/relay-client", workDirectory: workDirectory)
        if trustRelay, !features.trustRelay {
            throw ValidationError("this relay-client has no --trust-relay (its pipe mode already seals under the relay's key)")
        }
        report.clientMode = features.mode(trustRelay: trustRelay)
        if !features.rooms { report.notes.append("this relay-client has no --room: both clients join the relay's default room") }
        let tools = PeerTools.find(peers: !skipPeers, install: !noInstall)
        report.installed = tools.installed
        report.skipped = tools.missing
        if tools.setpriv == nil { report.notes.append("setpriv not found: the children are not tied to the benchmark's life") }

        var rows = makeRows(binDirectory: binDirectory, features: features, tools: tools, workDirectory: workDirectory)
        var summaries = rows.map { RowSummary(name: $0.name, commands: [:], runs: []) }
        let transfer = Transfer(bytes: bytes.value, compare: !lengthOnly)
        for run in 1...runs {
            for index in rows.indices {
                let figures = transfer.run(&rows[index])
                summaries[index].runs.append(figures)
                summaries[index].commands = rows[index].commands
                Progress.say("run \(run)/\(runs) \(rows[index].name): " + Self.describe(figures))
            }
        }
        report.rows = summaries
        report.loadAfter = MachineInfo.loadAverage()
        report.verdict = Verdict(relayClient: summaries.first)
        try output(report)
    }

    private func makeRows(binDirectory: String, features: ClientFeatures, tools: PeerTools, workDirectory: String) -> [any Row] {
        let context = RowContext(workDirectory: workDirectory, deathGuard: tools.deathGuard)
        let wrappers = [("sender", senderWrapper), ("receiver", receiverWrapper), ("relay", relayWrapper)]
            .reduce(into: [String: [String]]()) { result, pair in
                if let text = pair.1 { result[pair.0] = text.split(separator: " ").map(String.init) }
            }
        var rows: [any Row] = [RelayClientRow(binDirectory: binDirectory, context: context, features: features,
                                              trustRelay: trustRelay, wrappers: wrappers)]
        if let socat = tools.socat { rows.append(SocatRow(socat: socat, context: context)) }
        if let ncat = tools.ncat { rows.append(NcatRow(ncat: ncat, context: context)) }
        return rows
    }

    private func output(_ report: BenchReport) throws {
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(report)
            if json == "-" {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            do { try data.write(to: URL(fileURLWithPath: json)) } catch {
                throw BenchError("cannot write \(json): \(error.localizedDescription)")
            }
        }
        print(TableReport.render(report))
    }

    private static func describe(_ figures: RunFigures) -> String {
        guard figures.succeeded else { return "FAILED: " + figures.problems.joined(separator: "; ") }
        let cpu = ["sender", "relay", "receiver"].map { role in
            "\(role) \(TableReport.format(figures.processes[role]?.cpuSecondsPerGiB))"
        }.joined(separator: ", ")
        return "\(TableReport.format(figures.megabytesPerSecond)) MB/s, CPU s/GiB \(cpu)"
    }

    /// The directory of this executable: the build directory, where
    /// `swift build -c release` also put relay-server and relay-client.
    static func executableDirectory() -> String { ExecutableLookup.executableDirectory() }
}

/// `--bytes`: a count, optionally with K, M or G (KiB, MiB, GiB).
struct ByteCount: ExpressibleByArgument, Sendable {
    let value: Int

    init(_ value: Int) { self.value = value }

    init?(argument: String) {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        let upper = argument.uppercased()
        if let last = upper.last, let unit = units[last], let number = Int(upper.dropLast()) {
            value = number * unit
        } else if let number = Int(argument) {
            value = number
        } else {
            return nil
        }
    }

    var defaultValueDescription: String { "\(value) (1G)" }
}

/// The run's temporary directory: the relay's state, the clients' homes, the children's
/// standard error.
enum WorkDirectory {
    static let prefix = "/tmp/bench-pipe-"

    static func make() throws -> String {
        var template = Array((prefix + "XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("cannot make a temporary directory: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// `rm -rf`, only ever of a directory this benchmark made.
    static func remove(_ directory: String) {
        guard directory.hasPrefix(prefix), !directory.contains("..") else { return }
        let child = try? Child(["/bin/rm", "-rf", directory], label: "rm", deathGuard: [], stdin: .path("/dev/null"),
                               stdout: .path("/dev/null"), stderrPath: "/dev/null")
        _ = child?.waitForExit(within: 60)
    }
}
