import COpenSSL

/// One agreement in libcrypto with nothing around it: a keygen context, the peer's key,
/// the HKDF context and the digest fetched once, buffers preallocated; per agreement
/// only `EVP_PKEY_keygen`, `EVP_PKEY_derive`, `EVP_Digest` (T) and six `EVP_KDF_derive`s.
final class RawEVPAgreement {
    private let workload: AgreementWorkload
    private let keygenContext: OpaquePointer
    private let peer: OpaquePointer
    private let kdf: OpaquePointer
    private let kdfContext: OpaquePointer
    private let sha256: OpaquePointer

    init(_ workload: AgreementWorkload) {
        self.workload = workload
        keygenContext = EVP_PKEY_CTX_new_from_name(nil, "X25519", nil)!
        precondition(EVP_PKEY_keygen_init(keygenContext) == 1)
        peer = workload.peerPublicKey.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, $0.baseAddress, 32)!
        }
        kdf = EVP_KDF_fetch(nil, "HKDF", nil)!
        kdfContext = EVP_KDF_CTX_new(kdf)!
        sha256 = EVP_MD_fetch(nil, "SHA256", nil)!
    }

    deinit {
        EVP_PKEY_CTX_free(keygenContext)
        EVP_PKEY_free(peer)
        EVP_KDF_CTX_free(kdfContext)
        EVP_KDF_free(kdf)
        EVP_MD_free(sha256)
    }

    func batch() -> Batch {
        repeating { [self] in agree() }
    }

    /// One agreement; returns a byte of the SAS key.
    private func agree() -> UInt8 {
        var own: OpaquePointer?
        guard EVP_PKEY_keygen(keygenContext, &own) == 1, let own else { fatalError("X25519 keygen failed") }
        defer { EVP_PKEY_free(own) }
        let derive = EVP_PKEY_CTX_new_from_pkey(nil, own, nil)!
        defer { EVP_PKEY_CTX_free(derive) }
        var z = [UInt8](repeating: 0, count: 32)
        var zLength = 32
        var transcriptInput = workload.transcriptPrefix + [UInt8](repeating: 0, count: 32) + workload.peerPublicKey
        var publicLength = 32
        let prefixCount = workload.transcriptPrefix.count
        var transcript = [UInt8](repeating: 0, count: 32)
        var digestLength: UInt32 = 0
        let ok = transcriptInput.withUnsafeMutableBufferPointer { input in
            EVP_PKEY_derive_init(derive) == 1 && EVP_PKEY_derive_set_peer(derive, peer) == 1
                && EVP_PKEY_derive(derive, &z, &zLength) == 1
                && CRYPTO_memcmp(z, [UInt8](repeating: 0, count: 32), 32) != 0
                && EVP_PKEY_get_raw_public_key(own, input.baseAddress! + prefixCount, &publicLength) == 1
                && EVP_Digest(input.baseAddress, input.count, &transcript, &digestLength, sha256, nil) == 1
        }
        guard ok else { fatalError("raw agreement failed") }
        var prk = [UInt8](repeating: 0, count: 32)
        hkdf(mode: EVP_KDF_HKDF_MODE_EXTRACT_ONLY, key: z, salt: workload.sessionKey, info: [], into: &prk)
        var key = [UInt8](repeating: 0, count: 32)
        for label in AgreementWorkload.labels {
            hkdf(mode: EVP_KDF_HKDF_MODE_EXPAND_ONLY, key: prk, salt: [], info: label + transcript, into: &key)
        }
        return key[0]
    }

    /// One `EVP_KDF_derive` on the reused context; the parameters point into buffers that
    /// stay valid for the call (the context keeps only copies).
    private func hkdf(mode: Int32, key: [UInt8], salt: [UInt8], info: [UInt8], into output: inout [UInt8]) {
        var key = key, salt = salt, info = info, mode = mode
        let names: [StaticString] = ["digest", "mode", "key", "salt", "info", "SHA256"]
        func name(_ index: Int) -> UnsafeMutablePointer<CChar> {
            UnsafeMutableRawPointer(mutating: names[index].utf8Start).assumingMemoryBound(to: CChar.self)
        }
        let ok = withUnsafeMutablePointer(to: &mode) { modePointer in
            key.withUnsafeMutableBytes { keyBytes in
                salt.withUnsafeMutableBytes { saltBytes in
                    info.withUnsafeMutableBytes { infoBytes in
                        var params = [
                            OSSL_PARAM_construct_utf8_string(name(0), name(5), 0),
                            OSSL_PARAM_construct_int(name(1), modePointer),
                            OSSL_PARAM_construct_octet_string(name(2), keyBytes.baseAddress, keyBytes.count),
                        ]
                        if !saltBytes.isEmpty {
                            params.append(OSSL_PARAM_construct_octet_string(name(3), saltBytes.baseAddress, saltBytes.count))
                        }
                        if !infoBytes.isEmpty {
                            params.append(OSSL_PARAM_construct_octet_string(name(4), infoBytes.baseAddress, infoBytes.count))
                        }
                        params.append(OSSL_PARAM_construct_end())
                        return EVP_KDF_derive(kdfContext, &output, output.count, &params) == 1
                    }
                }
            }
        }
        guard ok else { fatalError("raw HKDF failed") }
    }
}
