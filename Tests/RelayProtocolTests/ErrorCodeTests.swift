import Testing
import RelayProtocol

/// The spec's error code table, written out by hand.
struct ErrorCodeTests {
    static let specTable: [(UInt16, RelayErrorCode)] = [
        (1, .malformed), (2, .unsupportedVersion), (3, .invalidName), (4, .nameTaken), (5, .relayFull),
        (6, .frameTooLarge), (7, .handshakeTimeout), (8, .unexpectedFrame), (9, .shuttingDown), (10, .busy),
    ]

    @Test(arguments: specTable)
    func codeValues(_ value: UInt16, _ code: RelayErrorCode) {
        #expect(code.rawValue == value)
        #expect(RelayErrorCode(rawValue: value) == code)
    }

    @Test func noOtherCodes() {
        #expect(RelayErrorCode.allCases.count == Self.specTable.count)
        #expect(RelayErrorCode(rawValue: 0) == nil)
        #expect(RelayErrorCode(rawValue: 11) == nil)
    }

    @Test func labelsAreDistinctAndReadable() {
        let labels = RelayErrorCode.allCases.map(\.label)
        #expect(Set(labels).count == labels.count)
        for label in labels {
            #expect(!label.isEmpty && label == label.lowercased())
        }
    }
}
