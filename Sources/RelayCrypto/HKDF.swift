import COpenSSL

/// HKDF-SHA256 (RFC 5869) through OpenSSL's `EVP_KDF`: in one step (``deriveKey(inputKeyMaterial:salt:info:outputByteCount:)``),
/// or as its two halves, ``extract(salt:inputKeyMaterial:)`` and ``expand(pseudoRandomKey:info:outputByteCount:)``.
public enum HKDF {
    /// The length of a pseudorandom key (HashLen), which is also the most `extract` returns.
    public static let pseudoRandomKeyCount = 32
    /// The longest output RFC 5869 allows: 255 × HashLen.
    public static let maximumOutputByteCount = 255 * 32

    /// `EVP_KDF_fetch` once per process (an agreement derives six times), as the ciphers do.
    nonisolated(unsafe) private static let kdf: OpaquePointer = {
        guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else { fatalError("OpenSSL has no HKDF") }
        return kdf
    }()

    /// Derives `outputByteCount` bytes from `inputKeyMaterial`, `salt` (empty means
    /// HashLen zero bytes, as RFC 5869 says) and `info`.
    public static func deriveKey(
        inputKeyMaterial: [UInt8], salt: [UInt8] = [], info: [UInt8], outputByteCount: Int
    ) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputByteCount)
        inputKeyMaterial.withUnsafeBytes { ikm in
            output.withUnsafeMutableBytes { out in
                derive(inputKeyMaterial: ikm, salt: salt, info: info, into: out)
            }
        }
        return output
    }

    /// HKDF-Extract: the 32-byte pseudorandom key HMAC-SHA256(salt, IKM). An empty salt
    /// means HashLen zero bytes.
    public static func extract(salt: [UInt8], inputKeyMaterial: [UInt8]) -> [UInt8] {
        var prk = [UInt8](repeating: 0, count: pseudoRandomKeyCount)
        salt.withUnsafeBytes { saltBytes in
            inputKeyMaterial.withUnsafeBytes { ikm in
                prk.withUnsafeMutableBytes { extract(salt: saltBytes, inputKeyMaterial: ikm, into: $0) }
            }
        }
        return prk
    }

    /// HKDF-Expand: `outputByteCount` bytes (1 to ``maximumOutputByteCount``) from a
    /// pseudorandom key and `info`.
    public static func expand(pseudoRandomKey: [UInt8], info: [UInt8], outputByteCount: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputByteCount)
        pseudoRandomKey.withUnsafeBytes { prk in
            info.withUnsafeBytes { infoBytes in
                output.withUnsafeMutableBytes { expand(pseudoRandomKey: prk, info: infoBytes, into: $0) }
            }
        }
        return output
    }

    /// Derives `output.count` bytes into `output` (used for keys kept in `SecureBytes`).
    static func derive(
        inputKeyMaterial: UnsafeRawBufferPointer, salt: [UInt8] = [], info: [UInt8],
        into output: UnsafeMutableRawBufferPointer
    ) {
        salt.withUnsafeBytes { saltBytes in
            info.withUnsafeBytes { infoBytes in
                run(mode: EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, key: inputKeyMaterial, salt: saltBytes,
                    info: infoBytes, into: output)
            }
        }
    }

    /// HKDF-Extract into `output`, which must be 32 bytes.
    static func extract(salt: UnsafeRawBufferPointer, inputKeyMaterial: UnsafeRawBufferPointer,
                        into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count == pseudoRandomKeyCount, "HKDF-Extract gives exactly 32 bytes")
        run(mode: EVP_KDF_HKDF_MODE_EXTRACT_ONLY, key: inputKeyMaterial, salt: salt,
            info: UnsafeRawBufferPointer(start: nil, count: 0), into: output)
    }

    /// HKDF-Expand into `output` (1 to 8160 bytes).
    static func expand(pseudoRandomKey: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer,
                       into output: UnsafeMutableRawBufferPointer) {
        run(mode: EVP_KDF_HKDF_MODE_EXPAND_ONLY, key: pseudoRandomKey,
            salt: UnsafeRawBufferPointer(start: nil, count: 0), info: info, into: output)
    }

    /// One `EVP_KDF_derive` in `mode`. `key` is the IKM, or the PRK when expanding only.
    /// An empty salt is left out (HashLen zeros); `info` is ignored by extract-only.
    private static func run(
        mode: Int32, key: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) {
        precondition(output.count >= 1 && output.count <= maximumOutputByteCount,
                     "HKDF-SHA256 output must be 1...8160 bytes")
        guard let context = EVP_KDF_CTX_new(Self.kdf) else { fatalError("EVP_KDF_CTX_new failed") }
        defer { EVP_KDF_CTX_free(context) }

        var digest = Array("SHA256".utf8CString)
        var modeValue = mode
        // OSSL_PARAM octet strings want non-null pointers even when empty; they only read.
        var dummy: UInt8 = 0
        let ok = digest.withUnsafeMutableBufferPointer { digestName in
            withUnsafeMutablePointer(to: &modeValue) { modePointer in
                withUnsafeMutablePointer(to: &dummy) { nonNull in
                    func octets(_ name: UnsafePointer<CChar>, _ bytes: UnsafeRawBufferPointer) -> OSSL_PARAM {
                        OSSL_PARAM_construct_octet_string(
                            name, UnsafeMutableRawPointer(mutating: bytes.baseAddress) ?? UnsafeMutableRawPointer(nonNull),
                            bytes.count)
                    }
                    var params = [
                        OSSL_PARAM_construct_utf8_string(OSSLParamName.digest, digestName.baseAddress, 0),
                        OSSL_PARAM_construct_int(OSSLParamName.mode, modePointer),
                        octets(OSSLParamName.key, key),
                    ]
                    if mode != EVP_KDF_HKDF_MODE_EXTRACT_ONLY { params.append(octets(OSSLParamName.info, info)) }
                    if salt.count > 0 { params.append(octets(OSSLParamName.salt, salt)) }
                    params.append(OSSL_PARAM_construct_end())
                    return EVP_KDF_derive(
                        context, output.baseAddress?.assumingMemoryBound(to: UInt8.self), output.count, &params) == 1
                }
            }
        }
        guard ok else { fatalError("HKDF-SHA256 derivation failed: \(String(cString: ERR_error_string(ERR_get_error(), nil)))") }
    }
}
