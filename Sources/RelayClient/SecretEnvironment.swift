#if canImport(Glibc)
import Glibc
#endif

/// Secrets passed through the environment (a PKCS#12 password): read once, then removed,
/// so that nothing started later (or a crash report of the environment) inherits them.
public enum SecretEnvironment {
    /// The value of the variable `name`, removed from the environment; nil when unset.
    public static func take(_ name: String) -> String? {
        guard let value = getenv(name).map({ String(cString: $0) }) else { return nil }
        unsetenv(name)
        return value
    }
}
