import Testing
import RelayProtocol

/// `FrameHeader.parse`: what the 5-byte header alone decides, and when it has too few
/// bytes to decide anything.
struct FrameHeaderTests {
    /// The type column of the spec's frame table.
    static let specTypes: [UInt8: FrameType] = [
        0x01: .hello, 0x02: .welcome, 0x03: .peerJoined, 0x04: .peerLeft, 0x10: .data,
        0x11: .dataFrom, 0x20: .ping, 0x21: .pong, 0x30: .bye, 0x7F: .error,
    ]

    @Test func typeRawValuesMatchTheSpecTable() {
        #expect(FrameType.allCases.count == Self.specTypes.count)
        for (byte, type) in Self.specTypes {
            #expect(type.rawValue == byte)
        }
    }

    @Test(arguments: 0...3)
    func fewerThanFourBytesDecideNothing(_ count: Int) {
        // Even a prefix of a length-0 or huge header waits for the fourth byte.
        #expect(parseHeader(Array(wire("00 00 00 00")[..<count])) == .success(nil))
        #expect(parseHeader(Array(wire("ff ff ff ff")[..<count])) == .success(nil))
    }

    @Test func fourValidLengthBytesWaitForTheType() {
        #expect(parseHeader(wire("00 00 00 01")) == .success(nil))
        #expect(parseHeader(wire("00 10 00 00")) == .success(nil))
    }

    @Test func lengthAloneRefusesZeroAndAboveTheLimit() {
        #expect(parseHeader(wire("00 00 00 00")) == .failure(.frameTooLarge(length: 0, limit: 1_048_576)))
        #expect(parseHeader(wire("00 10 00 01")) == .failure(.frameTooLarge(length: 1_048_577, limit: 1_048_576)))
        #expect(parseHeader(wire("00 00 00 41"), maxFrame: 64) == .failure(.frameTooLarge(length: 65, limit: 64)))
        #expect(parseHeader(wire("00 00 00 40"), maxFrame: 64) == .success(nil))
    }

    @Test func defaultLimitIsOneMebibyte() {
        #expect(FrameHeader.defaultMaxFrame == 1_048_576)
        #expect(FrameDecoder().maxFrame == 1_048_576)
    }

    /// Every one of the 256 type bytes: the spec's nine parse, all others are unknown.
    @Test func everyTypeByte() {
        for byte in UInt8.min...UInt8.max {
            let result = parseHeader(wire("00 00 00 01") + [byte])
            if let type = Self.specTypes[byte] {
                #expect(result == .success(FrameHeader(length: 1, type: type)), "type \(byte)")
            } else {
                #expect(result == .failure(.unknownType(byte)), "type \(byte)")
            }
        }
    }

    @Test func headerFields() throws {
        let header = try #require(try parseHeader(wire("00 00 01 00  10  aa bb")).get())
        #expect(header == FrameHeader(length: 256, type: .data))
        #expect(header.bodyCount == 255)
        #expect(header.frameCount == 260)
    }

    /// The largest body each type's row allows, from the spec: HELLO 1+1+255, WELCOME
    /// 32+4+1+32, names 32, PING/PONG 64, BYE 0; DATA and ERROR only by maxFrame.
    static let bodyBounds: [(FrameType, Int?)] = [
        (.hello, 513), (.welcome, 69), (.peerJoined, 32), (.peerLeft, 32), (.ping, 64), (.pong, 64),
        (.bye, 0), (.data, nil), (.error, nil),
    ]

    @Test(arguments: bodyBounds)
    func bodyBoundFromTheHeader(_ type: FrameType, _ bound: Int?) {
        #expect(type.maximumBodyCount == bound)
        guard let bound else {
            // Bounded by maxFrame only: a body of maxFrame - 1 passes the header.
            #expect(parseHeader(wire("00 10 00 00") + [type.rawValue]) == .success(FrameHeader(length: 1_048_576, type: type)))
            return
        }
        let atBound = UInt32(bound + 1)
        #expect(parseHeader(rawFrame(length: atBound, type: type.rawValue)) == .success(FrameHeader(length: atBound, type: type)))
        #expect(parseHeader(rawFrame(length: atBound + 1, type: type.rawValue)) == .failure(.malformedBody(type)))
    }

    @Test func lengthIsCheckedBeforeTheType() {
        // Both wrong: the length decides, from 4 bytes.
        #expect(parseHeader(wire("00 00 00 00  ff")) == .failure(.frameTooLarge(length: 0, limit: 1_048_576)))
        #expect(parseHeader(wire("01 00 00 00  ff")) == .failure(.frameTooLarge(length: 0x0100_0000, limit: 1_048_576)))
    }

    @Test func writeAppendsTheFiveBytes() {
        var buffer: [UInt8] = [0x99]
        FrameHeader(length: 0x0102_0304, type: .pong).write(into: &buffer)
        #expect(buffer == wire("99  01 02 03 04  21"))
    }

    @Test func largestLimitDoesNotOverflow() {
        #expect(parseHeader(wire("ff ff ff ff  10"), maxFrame: .max) == .success(FrameHeader(length: .max, type: .data)))
        #expect(FrameHeader(length: .max, type: .data).frameCount == 4 + Int(UInt32.max))
    }
}
