/// OpenSSL parameter names as pointers to static storage. `OSSL_PARAM` keeps the key
/// pointer, so the temporary C string Swift makes for a `String` argument would dangle.
enum OSSLParamName {
    static var digest: UnsafePointer<CChar> { cString("digest") }
    static var key: UnsafePointer<CChar> { cString("key") }
    static var salt: UnsafePointer<CChar> { cString("salt") }
    static var info: UnsafePointer<CChar> { cString("info") }
    static var mode: UnsafePointer<CChar> { cString("mode") }

    private static func cString(_ name: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
