import ArgumentParser
import BenchmarkSupport
import Foundation

struct BenchRelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-relay",
        abstract: "The relay measured against direct TCP, socat and the original-style Python relay.",
        discussion: """
            Starts a release relay-server (--insecure-plaintext, port 0) and, as baselines, a \
            direct TCP pair, socat (apt-get install socat when missing, as root; \
            --no-install skips its column instead) and \
            Benchmarks/python-relay/relay.py. Two peers in this process send v1 DATA frames \
            through each, on 127.0.0.1 only: 1 MiB frames one way (MB/s), 64-byte frames \
            pipelined one way (messages/s), 64-byte ping-pong (round trip p50/p99/p99.9), and \
            the forwarder's peak RSS (VmHWM) per scenario. Progress goes to standard error.

            --pairs 1,100,1000,10000 (or --pairs default) runs the many-pairs benchmark \
            instead: N pairs, each in its own version 2 room, ping-pong 64-byte DATA for \
            --pairs-seconds, driven by one epoll thread; aggregate round trips/s, p50/p99, \
            the forwarder's RSS and CPU; a fairness row (100 quiet pairs beside \
            --pairs-streamers pairs streaming 1 MiB frames); the CPU of one pair set-up. \
            Paths: relay, direct TCP, magic-wormhole's transit relay (twistd transitrelay; \
            pip-installed into .build/pairs-venv when missing) and socat fork (apt-get \
            install socat when missing). Raises RLIMIT_NOFILE to 200,000 (run as root for \
            10,000 pairs); forwarders run under setpriv --pdeathsig KILL.
            """
    )

    @Flag(help: "A shorter run (under 30 s): 256 MiB, 1 s of messages, 2,000 round trips.")
    var quick = false

    @Flag(help: "Print the report as JSON instead of a table.")
    var json = false

    @Option(help: "Also write the JSON report to this file (the table still goes to standard output).")
    var jsonFile: String?

    @Flag(help: "Also measure throughput and round trip for message sizes 16 B … 1 MiB (for the plot).")
    var sweep = false

    @Flag(help: "Only count relay-server's instructions per forwarded 64-byte message under valgrind --tool=callgrind.")
    var instructions = false

    @Option(help: "With --instructions: keep the callgrind outputs in this directory (runs 1-2 lock-step, 3-4 pipelined, small then large).")
    var callgrindDir: String?

    @Option(help: "Run only these scenarios (comma-separated): throughput, rate, rtt.")
    var only: String?

    @Option(help: "DATA body bytes of the message-rate and round-trip scenarios (default 64; the targets assume 64).")
    var messageBytes: Int?

    @Option(help: "Runs of each scenario per path; the median is reported (default: 3, 1 with --quick).")
    var repeats: Int?

    @Flag(help: "Do not apt-get install socat when it is missing (its column is then empty, with the reason).")
    var noInstall = false

    @Option(help: "Run only these paths (comma-separated): relay, relay-tls, direct, socat, python.")
    var paths: String?

    @Option(help: "Put this command line (split at spaces) before relay-server's, e.g. 'perf record -e cpu-clock -g -o /tmp/relay.data --' or 'strace -c -f -o /tmp/relay.strace'.")
    var relayWrapper: String?

    @Option(help: "The relay-server executable (default: the one beside this executable).")
    var relayServer: String?

    @OptionGroup(title: "Many pairs (--pairs)")
    var pairsOptions: PairsOptions

    func run() throws {
        guard let server = relayServer ?? Tools.relayServer() else {
            throw ValidationError("relay-server not found beside \(Tools.executableDirectory()); build it with swift build -c release, or pass --relay-server")
        }
        var report = BenchReport()
        // The many-pairs benchmark finds (or installs) its own forwarders.
        let socat = pairsOptions.pairs == nil && (paths.map { $0.split(separator: ",").contains("socat") } ?? true)
            ? PackageInstaller.find("socat", package: "socat", install: !noInstall, say: Runner.say)
            : PackageInstaller.Outcome()
        if let installed = socat.installed { report.installed.append(installed) }
        var launcher = PathLauncher(relayServer: server, socat: socat.path, python: Tools.onPath("python3"),
                                    pythonScript: Tools.pythonRelayScript())
        if let reason = socat.missingReason { launcher.socatMissingReason = reason }
        if let relayWrapper {
            var words = relayWrapper.split(separator: " ").map(String.init)
            if let first = words.first, !first.hasPrefix("/") {
                guard let found = Tools.onPath(first) else { throw ValidationError("--relay-wrapper: \(first) is not on the PATH") }
                words[0] = found
            }
            launcher.relayWrapper = words
        }
        if pairsOptions.pairs != nil {
            report.command = (["bench-relay"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            report.pairs = try PairsBenchmark(options: pairsOptions, relayServer: server).run()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(report)
            if let jsonFile { try data.write(to: URL(fileURLWithPath: jsonFile)) }
            print(json ? String(decoding: data, as: UTF8.self) : PairsTable.render(report.pairs!, machine: report.machine))
            return
        }
        report.command = (["bench-relay"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        report.quick = quick
        report.workload = quick ? .quick : .full
        if let repeats { report.workload.repeats = max(1, repeats) }
        if let messageBytes {
            guard (1...Runner.sweepSizes.last!).contains(messageBytes) else {
                throw ValidationError("--message-bytes must be between 1 and \(Runner.sweepSizes.last!)")
            }
            report.workload.messageBodyBytes = messageBytes
        }
        var runner = Runner(launcher: launcher, workload: report.workload)
        if let paths {
            runner.paths = Set(try paths.split(separator: ",").map { word in
                guard let kind = PathKind(rawValue: String(word)) else { throw ValidationError("--paths takes relay, relay-tls, direct, socat, python") }
                return kind
            })
        }
        if let only {
            let names = ["throughput": "throughput", "rate": "message rate", "rtt": "round trip"]
            runner.only = Set(try only.split(separator: ",").map { word in
                guard let name = names[String(word)] else { throw ValidationError("--only takes throughput, rate, rtt") }
                return name
            })
        }

        if instructions {
            if let valgrind = Tools.onPath("valgrind") {
                Runner.say("counting instructions under callgrind (four relay-server runs)")
                do {
                    report.instructions = try CallgrindCount.run(launcher: launcher, valgrind: valgrind,
                                                                 bodyCount: report.workload.messageBodyBytes, keepIn: callgrindDir)
                } catch {
                    report.instructionsUnavailable = "callgrind run failed: \(error)"
                }
            } else {
                report.instructionsUnavailable = "valgrind is not on the PATH (apt-get install valgrind)"
            }
        } else {
            runner.runScenarios(into: &report)
            if report.workload.messageBodyBytes == Workload.full.messageBodyBytes {
                report.targets = Targets.check(report) + TLSReport.targets(report)
            }
            TLSPath.removeStateDirectory()
            if sweep { report.sweep = runner.runSweep(streamSeconds: quick ? 0.2 : 0.5) }
        }

        report.paths = instructions ? [:] : report.paths
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(report)
        if let jsonFile {
            try data.write(to: URL(fileURLWithPath: jsonFile))
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(TableReport.render(report))
        }
    }
}
