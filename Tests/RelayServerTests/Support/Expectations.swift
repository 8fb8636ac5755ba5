import Testing
import RelayProtocol

/// Expects the relay to answer `client` with ERROR `code` and then close the connection
/// (every ERROR is fatal). `context` names the case in failure messages.
func expectRefusal(
    _ client: TestClient, _ code: RelayErrorCode, _ context: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let (received, message, closed) = try client.receiveErrorAndEnd()
    #expect(received == code, "\(context): expected ERROR \(code), got \(received.map { "\($0)" } ?? "none"): \(message)",
            sourceLocation: sourceLocation)
    #expect(!message.isEmpty, "\(context): the ERROR should carry a readable message", sourceLocation: sourceLocation)
    #expect(closed, "\(context): the relay should close the connection after the ERROR", sourceLocation: sourceLocation)
}

/// Expects nothing pending for `client`: a PING's PONG is the next frame.
func expectNothingPending(_ client: TestClient, _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation) throws {
    let stray = try client.roundTrip()
    #expect(stray.isEmpty, "\(context): unexpected frames \(stray.map(\.summary))", sourceLocation: sourceLocation)
}

/// A frame built by hand: `length:u32 | type | body`, with `length` given explicitly
/// when it should lie.
func rawFrame(type: UInt8, body: [UInt8] = [], length: UInt32? = nil) -> [UInt8] {
    let length = length ?? UInt32(1 + body.count)
    return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type] + body
}

/// A DATA body that names its position: `sequence:u64` then `count - 8` bytes derived
/// from it, so a receiver can check order and content without keeping a copy.
func numberedBody(_ sequence: Int, count: Int) -> [UInt8] {
    var body = [UInt8](repeating: UInt8(truncatingIfNeeded: sequence &* 31 &+ 7), count: max(count, 8))
    for index in 0..<8 { body[index] = UInt8(truncatingIfNeeded: sequence >> (56 - 8 * index)) }
    return body
}

/// The sequence number a ``numberedBody(_:count:)`` starts with.
func sequenceNumber(of body: [UInt8]) -> Int? {
    guard body.count >= 8 else { return nil }
    return body[0..<8].reduce(0) { $0 << 8 | Int($1) }
}
