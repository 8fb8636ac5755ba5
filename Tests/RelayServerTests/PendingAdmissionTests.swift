import Testing
import RelayServer

/// ``PendingAdmission`` without sockets: the per-address and total limits on connections
/// not yet joined, and who makes room when every slot is taken.
struct PendingAdmissionTests {
    static func ids(_ range: Range<Int>) -> [ConnectionID] { range.map(ConnectionID.init) }

    @Test func anAddressBeyondItsLimitIsRefused() {
        var slots = PendingAdmission(maxPerAddress: 3, maxTotal: 100)
        for id in Self.ids(0..<3) { #expect(slots.admit(id, from: "10.0.0.1") == .admit) }
        #expect(slots.admit(ConnectionID(3), from: "10.0.0.1") == .refuseAddressLimit)
        #expect(slots.admit(ConnectionID(4), from: "10.0.0.2") == .admit)
        // A slot given back (the connection joined or closed) can be taken again.
        slots.remove(ConnectionID(0))
        #expect(slots.admit(ConnectionID(5), from: "10.0.0.1") == .admit)
        #expect(slots.count == 4)
    }

    @Test func aNewcomerFromALessBusyAddressDisplacesTheBusiestAddressesOldest() {
        var slots = PendingAdmission(maxPerAddress: 10, maxTotal: 4)
        for id in Self.ids(0..<4) { #expect(slots.admit(id, from: "flood") == .admit) }
        #expect(slots.admit(ConnectionID(4), from: "flood") == .refuseTotalLimit)
        #expect(slots.admit(ConnectionID(5), from: "honest") == .admitClosing(ConnectionID(0)))
        #expect(slots.admit(ConnectionID(6), from: "other") == .admitClosing(ConnectionID(1)))
        // flood 2, honest 1, other 1: a newcomer would leave its address as busy as the
        // busiest, so it is the one beyond the limit.
        #expect(slots.admit(ConnectionID(7), from: "honest") == .refuseTotalLimit)
        #expect(slots.count == 4)
        #expect(slots.count(from: "flood") == 2)
        // A displaced connection holds no slot: removing it again changes nothing.
        slots.remove(ConnectionID(0))
        #expect(slots.count == 4)
    }

    @Test func removingAnUnknownConnectionChangesNothing() {
        var slots = PendingAdmission(maxPerAddress: 1, maxTotal: 1)
        slots.remove(ConnectionID(42))
        #expect(slots.admit(ConnectionID(1), from: "a") == .admit)
        #expect(slots.count(from: "a") == 1)
        slots.remove(ConnectionID(1))
        #expect(slots.count == 0 && slots.count(from: "a") == 0)
    }
}
