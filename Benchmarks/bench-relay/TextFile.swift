#if canImport(Glibc)
import Glibc
#endif

/// Small text files the harness reads (/proc entries, callgrind totals), line by line.
enum TextFile {
    /// The file's lines, or nil when it cannot be opened.
    static func lines(_ path: String) -> [String]? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var lines: [String] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            lines.append(String(cString: line))
        }
        return lines
    }
}
