#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RelayClient

struct DisplayTextHardeningTests {
    @Test(arguments: [
        "\u{202E}", "\u{202A}", "\u{202D}", "\u{2066}", "\u{2069}",  // bidirectional controls
        "\u{200B}", "\u{200C}", "\u{200D}", "\u{200E}", "\u{200F}", "\u{FEFF}", "\u{00AD}", "\u{2060}",  // Cf
        "\u{2028}", "\u{2029}",  // line and paragraph separators
    ])
    func formatCharactersAndSeparatorsAreNeutralised(_ invisible: String) {
        let shown = DisplayText.line(from: Array("a\(invisible)b".utf8))
        #expect(shown == "a\u{FFFD}b")
    }

    @Test func paddingCannotPushTextOntoALineOfItsOwn() {
        let padded = "hi" + String(repeating: " ", count: 300) + "* alice left"
        let shown = DisplayText.line(from: Array(padded.utf8))
        #expect(shown == "hi    * alice left")
        let mixed = "hi" + String(repeating: "\t\u{00A0}\u{3000} ", count: 50) + "x"
        #expect(DisplayText.line(from: Array(mixed.utf8)) == "hi\t\u{00A0}\u{3000} x")
    }

    @Test func ordinaryTextIsUnchanged() {
        for text in ["👩‍💻 and 🏳️‍🌈", "hello", "two  spaces", "indented    four", "zoë 名前 🙂", "tab\tkept", "שלום"] {
            #expect(DisplayText.line(from: Array(text.utf8)) == text)
        }
    }
}

struct SecretEnvironmentTests {
    @Test func aSecretIsRemovedFromTheEnvironmentOnceRead() {
        let name = "RELAY_CLIENT_TEST_SECRET_\(getpid())"
        setenv(name, "s3cret", 1)
        #expect(SecretEnvironment.take(name) == "s3cret")
        #expect(getenv(name) == nil)
        #expect(SecretEnvironment.take(name) == nil)
    }
}
