import COpenSSL

/// OpenSSL's thread-local error queue, drained into text.
enum OpenSSLError {
    /// The queued errors' reasons joined with "; " (the queue is emptied), or `fallback`.
    static func drain(or fallback: String) -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let reason = ERR_reason_error_string(code) {
                reasons.append(String(cString: reason))
            } else {
                reasons.append("error \(code)")
            }
        }
        return reasons.isEmpty ? fallback : reasons.joined(separator: "; ")
    }

    /// Empties the queue so an old error is not blamed on the next call.
    static func clear() { ERR_clear_error() }
}

/// A TLS set-up failure (files, keys, certificates, trust), said so a person can act.
public struct TLSSetupError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
