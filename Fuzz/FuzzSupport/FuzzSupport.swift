#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the fuzz targets share: reading choices out of the input, failing an invariant
/// loudly, and replaying inputs from files when a target is built without libFuzzer.
///
/// A target is one file, named after it, exporting `LLVMFuzzerTestOneInput`; there is no
/// `main.swift`, so SwiftPM compiles it with `-parse-as-library`. `scripts/fuzz.sh` builds
/// it with `-sanitize=fuzzer,address -D FUZZING`, and libFuzzer's `main` drives it. A
/// plain `swift build` compiles the file's `#if !FUZZING` `@main` instead, which runs the
/// same function on the files (or directories of files) named as arguments, e.g. a crash
/// input: `.build/debug/FuzzOpen crash-1234`.
public enum Fuzz {
    /// Stops the process when an invariant fails, so that libFuzzer keeps the input.
    /// `precondition` would do the same but is compiled out under `-Ounchecked`.
    public static func require(_ condition: Bool, _ message: @autoclosure () -> String,
                               file: StaticString = #fileID, line: UInt = #line) {
        if !condition { fatalError("invariant failed: \(message())", file: file, line: line) }
    }

    /// The fuzz target's signature, `LLVMFuzzerTestOneInput`'s.
    public typealias Target = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// A fuzz target's `main`: built for fuzzing, hands the command line to libFuzzer's
    /// driver; otherwise runs `target` on the files named as arguments.
    public static func main(_ target: Target) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, target))
        #else
        replayArguments { bytes in
            _ = target(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        #endif
    }

    /// Runs `body` on every file named in the command line (directories: on each file in
    /// them) and prints how many inputs ran. Exits 2 when a path cannot be read.
    public static func replayArguments(_ body: (UnsafeRawBufferPointer) -> Void) -> Never {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            for file in files(at: path) {
                guard let bytes = readFile(file) else {
                    print("cannot read \(file)")
                    exit(2)
                }
                bytes.withUnsafeBytes(body)
                count += 1
            }
        }
        print("\(count) inputs ran without a failure")
        exit(0)
    }

    private static func files(at path: String) -> [String] {
        guard let directory = opendir(path) else { return [path] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(path + "/" + name) }
        }
        return names.sorted()
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes.append(contentsOf: chunk[..<count])
            if count < chunk.count { break }
        }
        return ferror(file) == 0 ? bytes : nil
    }
}

#if FUZZING
/// libFuzzer's entry point for programs with their own `main` (from `libclang_rt.fuzzer`).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ target: Fuzz.Target
) -> CInt
#endif

/// Reads the input front to back: leading bytes steer the run (chunk sizes, limits,
/// split points) and the rest is the data under test. Past the end every read is 0, so
/// any input is a valid program.
public struct FuzzInput {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let end = min(bytes.count, offset + max(0, count))
        defer { offset = end }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
    }

    /// Everything not read yet.
    public mutating func rest() -> UnsafeRawBufferPointer {
        take(bytes.count - offset)
    }
}
