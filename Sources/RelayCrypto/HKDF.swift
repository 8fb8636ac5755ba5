import COpenSSL

/// HKDF-SHA256 (RFC 5869) through OpenSSL's `EVP_KDF`.
public enum HKDF {
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

    /// Derives `output.count` bytes into `output` (used for keys kept in `SecureBytes`).
    static func derive(
        inputKeyMaterial: UnsafeRawBufferPointer, salt: [UInt8] = [], info: [UInt8],
        into output: UnsafeMutableRawBufferPointer
    ) {
        guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else { fatalError("OpenSSL has no HKDF") }
        defer { EVP_KDF_free(kdf) }
        guard let context = EVP_KDF_CTX_new(kdf) else { fatalError("EVP_KDF_CTX_new failed") }
        defer { EVP_KDF_CTX_free(context) }

        var digest = Array("SHA256".utf8CString)
        var ikm = Array(inputKeyMaterial)
        var saltBytes = salt
        var infoBytes = info
        defer { ikm.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        var dummy: UInt8 = 0

        let ok = digest.withUnsafeMutableBufferPointer { digestName in
            ikm.withUnsafeMutableBytes { ikmBytes in
                saltBytes.withUnsafeMutableBytes { saltBuffer in
                    infoBytes.withUnsafeMutableBytes { infoBuffer in
                        withUnsafeMutablePointer(to: &dummy) { nonNull in
                            var params = [
                                OSSL_PARAM_construct_utf8_string(OSSLParamName.digest, digestName.baseAddress, 0),
                                OSSL_PARAM_construct_octet_string(
                                    OSSLParamName.key, ikmBytes.baseAddress ?? UnsafeMutableRawPointer(nonNull), ikmBytes.count),
                                OSSL_PARAM_construct_octet_string(
                                    OSSLParamName.info, infoBuffer.baseAddress ?? UnsafeMutableRawPointer(nonNull), infoBuffer.count),
                            ]
                            if saltBuffer.count > 0 {
                                params.append(OSSL_PARAM_construct_octet_string(
                                    OSSLParamName.salt, saltBuffer.baseAddress, saltBuffer.count))
                            }
                            params.append(OSSL_PARAM_construct_end())
                            return EVP_KDF_derive(
                                context, output.baseAddress?.assumingMemoryBound(to: UInt8.self), output.count, &params) == 1
                        }
                    }
                }
            }
        }
        guard ok else { fatalError("HKDF-SHA256 derivation failed: \(String(cString: ERR_error_string(ERR_get_error(), nil)))") }
    }
}
