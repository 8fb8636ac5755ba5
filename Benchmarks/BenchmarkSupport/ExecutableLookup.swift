#if canImport(Glibc)
import Glibc
#endif

/// Where the benchmarks find the programs they run: beside themselves (the build
/// directory, where `swift run -c release bench-…` also put what they measure) or on
/// the PATH.
public enum ExecutableLookup {
    /// The directory of this executable (`/proc/self/exe`).
    public static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "." }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }

    /// `name` on the PATH, if it is there.
    public static func onPath(_ name: String) -> String? {
        guard let path = getenv("PATH") else { return nil }
        for directory in String(cString: path).split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
