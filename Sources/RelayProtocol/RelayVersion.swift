/// The version both executables report with `--version`.
public enum RelayVersion {
    /// This release of relay-server and relay-client (protocol versions 1 and 2).
    public static let string = "0.3.0 (protocol 1, 2; end-to-end v1)"
}
