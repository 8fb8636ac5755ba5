import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the figures were measured on: the CPU, how many cores, the kernel, and how busy
/// the machine was (other sessions share it).
struct MachineInfo: Codable, Sendable {
    var cpuModel: String
    var cores: Int
    var kernel: String

    static func current() -> MachineInfo {
        let model = LineFile.lines("/proc/cpuinfo")?
            .first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return MachineInfo(cpuModel: model, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), kernel: release)
    }

    /// The 1, 5 and 15 minute load averages (/proc/loadavg), as printed there.
    static func loadAverage() -> String {
        LineFile.lines("/proc/loadavg")?.first.map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "?"
    }
}

/// Small text files (/proc entries, children's standard error) read line by line.
enum LineFile {
    /// The file's lines without their newlines, or nil when it cannot be read.
    static func lines(_ path: String) -> [String]? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var result: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBufferPointer({ raw in
            raw.withMemoryRebound(to: CChar.self) { fgets($0.baseAddress, Int32($0.count), file) != nil }
        }) {
            var line = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
            if line.hasSuffix("\n") { line.removeLast() }
            result.append(line)
        }
        return result
    }
}
