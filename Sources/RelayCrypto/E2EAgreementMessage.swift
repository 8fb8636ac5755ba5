/// A key-agreement message (PROTOCOL.md section 7.2), a whole DATA body:
/// `0x03 | step | value[32]`, exactly 34 bytes.
public struct E2EAgreementMessage: Equatable, Sendable {
    /// The agreement's three steps, in order.
    public enum Step: UInt8, Sendable {
        /// R -> I: SHA-256("relay e2e v1 commit" | pkR).
        case commitment = 0x01
        /// I -> R: pkI, sent only after the commitment arrived.
        case initiatorPublicKey = 0x02
        /// R -> I: pkR, sent only after pkI arrived.
        case responderPublicKey = 0x03
    }

    /// The first byte of every key-agreement message.
    public static let typeByte: UInt8 = 0x03
    /// The length of every key-agreement message.
    public static let encodedCount = 34

    /// Which of the three messages this is.
    public let step: Step
    /// The commitment or public key (32 bytes).
    public let value: [UInt8]

    /// A message carrying `value`, which must be 32 bytes.
    public init<Value: Collection>(step: Step, value: Value) throws(E2EAgreementError) where Value.Element == UInt8 {
        guard value.count == E2EAgreement.valueByteCount else { throw .invalidLength(value.count) }
        self.step = step
        self.value = Array(value)
    }

    /// Parses a DATA body; anything but `0x03 | 01...03 | 32 bytes` throws
    /// ``E2EAgreementError/malformedMessage``.
    public init<Body: Collection>(parsing body: Body) throws(E2EAgreementError) where Body.Element == UInt8 {
        let bytes = Array(body)
        guard bytes.count == Self.encodedCount, bytes[0] == Self.typeByte, let step = Step(rawValue: bytes[1]) else {
            throw .malformedMessage
        }
        self.step = step
        value = Array(bytes[2...])
    }

    /// The 34-byte DATA body.
    public var encoded: [UInt8] {
        [Self.typeByte, step.rawValue] + value
    }
}
