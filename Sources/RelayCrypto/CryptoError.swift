/// Errors of the unauthenticated cipher and of key set-up.
public enum CryptoError: Error, Equatable, Sendable {
    /// A key was not 32 bytes long; the associated value is the length given.
    case invalidKeyLength(Int)
    /// `decrypt` could not recover a plaintext: the input is shorter than an IV and a
    /// block, not a whole number of blocks, or its padding is wrong. Deliberately one
    /// case for every cause.
    case decryptionFailed
}

/// The single error `AuthenticatedCipher.open` throws, whatever was wrong with the
/// message (length, version byte, block alignment, tag, padding). One case on purpose:
/// the caller, and so an attacker, learns nothing about which check failed.
public enum OpenError: Error, Equatable, Sendable {
    /// The message is not an authentic sealed message under this key.
    case authenticationFailed
}
