import Testing
import RelayProtocol

/// PROTOCOL.md section 6, "Before HELLO": the first frame is judged from its header, in
/// the contract's order, and only a HELLO of at most 100 is awaited.
struct FirstFrameHeaderTests {
    static func parse(_ bytes: [UInt8], maxFrame: UInt32 = 4096) throws -> FrameHeader? {
        try bytes.withUnsafeBytes { raw in try FrameHeader.parseFirst(raw, maxFrame: maxFrame) }
    }

    static func header(length: UInt32, type: UInt8) -> [UInt8] {
        [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type]
    }

    @Test func aShortHelloIsAccepted() throws {
        #expect(try Self.parse(Self.header(length: 100, type: 0x01)) == FrameHeader(length: 100, type: .hello))
        #expect(try Self.parse(Self.header(length: 1, type: 0x01)) == FrameHeader(length: 1, type: .hello))
        #expect(try Self.parse(Array(Self.header(length: 100, type: 0x01).prefix(4))) == nil)
    }

    @Test func refusalsComeInTheContractsOrder() {
        let cases: [([UInt8], ProtocolError)] = [
            (Self.header(length: 0, type: 0x99), .frameTooLarge(length: 0, limit: 4096)),
            (Self.header(length: 4097, type: 0x10), .frameTooLarge(length: 4097, limit: 4096)),
            (Array(Self.header(length: 4097, type: 0x10).prefix(4)), .frameTooLarge(length: 4097, limit: 4096)),
            (Self.header(length: 4096, type: 0x99), .unknownType(0x99)),
            (Self.header(length: 4096, type: 0x10), .expectedHello(.data)),
            (Self.header(length: 4096, type: 0x7F), .expectedHello(.error)),
            (Self.header(length: 2, type: 0x30), .expectedHello(.bye)),
            (Self.header(length: 101, type: 0x01), .frameTooLarge(length: 101, limit: 100)),
        ]
        for (bytes, expected) in cases {
            #expect(throws: expected, "\(bytes)") { try Self.parse(bytes) }
        }
        #expect(ProtocolError.expectedHello(.data).code == .unexpectedFrame)
    }
}
