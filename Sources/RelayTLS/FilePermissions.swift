#if canImport(Glibc)
import Glibc
#endif

/// The checks `ssh` makes before it uses a secret: a private key that others can read,
/// or a directory of secrets that others can write, is refused with the fix in the message.
public enum FilePermissions {
    /// Throws when the file at `path` can be read or written by its group or others.
    /// A missing file is left to the caller's own open to report.
    public static func requirePrivateKey(_ path: String, what: String = "private key") throws(TLSSetupError) {
        var status = stat()
        guard stat(path, &status) == 0 else { return }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw TLSSetupError("""
                the \(what) \(path) is accessible by others (mode \(octal(mode))): a private key must be readable \
                by its owner only; refusing to use it. Fix: chmod 600 \(path)
                """)
        }
    }

    /// Throws when the directory at `path` can be written by its group or others (anyone
    /// could then replace what it holds). A missing directory passes.
    public static func requireProtectedDirectory(_ path: String, holding contents: String) throws(TLSSetupError) {
        var status = stat()
        guard stat(path, &status) == 0 else { return }
        let mode = status.st_mode & 0o777
        guard mode & 0o022 == 0 else {
            throw TLSSetupError("""
                the directory \(path), which holds \(contents), is writable by others (mode \(octal(mode))); \
                refusing to use it. Fix: chmod 700 \(path)
                """)
        }
    }

    /// Throws when the file at `path` can be written by its group or others.
    public static func requireNotWritableByOthers(_ path: String, what: String) throws(TLSSetupError) {
        var status = stat()
        guard stat(path, &status) == 0 else { return }
        let mode = status.st_mode & 0o777
        guard mode & 0o022 == 0 else {
            throw TLSSetupError("the \(what) \(path) is writable by others (mode \(octal(mode))); refusing to use it. Fix: chmod 600 \(path)")
        }
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
