import Foundation
import Testing
import RelayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// PROTOCOL.md section 6, "Limits": connections not yet joined are bounded per IP
/// address (`--max-pending-per-address`) and in all (`--max-connections`); one address
/// flooding idle sockets cannot keep an honest client from another address out.
/// Distinct clients are distinct loopback addresses (127.0.0.2, 127.0.0.3, ...).
struct PendingSlotTests {
    /// True when the relay closed `client` without sending anything.
    static func isClosedWithoutAFrame(_ client: TestClient) -> Bool {
        do {
            return try client.receiveFrameOrEnd() == nil
        } catch {
            return false
        }
    }

    @Test func anAddressAtItsLimitIsClosedAtOnceAndOthersStillJoin() throws {
        try withRelayServer(["--max-pending-per-address", "8"]) { server in
            let flood = try (0..<8).map { _ in try TestClient(port: server.port, from: "127.0.0.2") }
            // Once a ninth connection is closed, the relay has accepted all eight.
            let ninth = try TestClient(port: server.port, receiveTimeout: 5, from: "127.0.0.2")
            #expect(Self.isClosedWithoutAFrame(ninth), "the ninth idle connection from one address should be closed at once")
            let honest = try TestClient(port: server.port, from: "127.0.0.3")
            let welcome = try honest.join("alice")
            #expect(welcome.peer == "")
            // The eight still have their slots: they may still join.
            #expect(try flood[0].join("bob").peer == "alice")
        }
    }

    @Test func whenEverySlotIsTakenANewcomerFromAnotherAddressDisplacesTheOldest() throws {
        try withRelayServer(["--max-connections", "10", "--max-pending-per-address", "10"]) { server in
            let flood = try (0..<10).map { _ in try TestClient(port: server.port, receiveTimeout: 5, from: "127.0.0.2") }
            // A sync point: one more from the same address is closed at once, so all ten
            // hold their slots.
            let eleventh = try TestClient(port: server.port, from: "127.0.0.2")
            #expect(Self.isClosedWithoutAFrame(eleventh), "the busiest address's newcomer is the one beyond the limit")

            let honest = try TestClient(port: server.port, from: "127.0.0.3")
            #expect(try honest.join("alice").peer == "", "an honest client joins on its first try")
            #expect(Self.isClosedWithoutAFrame(flood[0]), "the oldest idle handshake of the busiest address made room")
            #expect(try flood[1].join("bob").peer == "alice", "the others keep their slots")
        }
    }

    /// The attack, scaled down: one address keeps far more idle sockets open than
    /// there are slots and reopens each as soon as the relay closes it; an honest client
    /// from another address must join on its first try, every time.
    @Test func anHonestClientJoinsFirstTimeWhileOneAddressFloodsTheSlots() throws {
        try withRelayServer(["--max-connections", "64", "--max-pending-per-address", "16"]) { server in
            let stop = SharedFlag()
            let reopened = SharedCounter()
            let port = server.port
            let flooder = BackgroundWork("idle flood from 127.0.0.2") {
                var sockets = try (0..<96).map { _ in try TestClient(port: port, receiveTimeout: 0.05, from: "127.0.0.2") }
                while !stop.isRaised {
                    for index in sockets.indices where stop.isRaised == false {
                        var probe: UInt8 = 0
                        let count = recv(sockets[index].fd, &probe, 1, Int32(MSG_DONTWAIT))
                        let closed = count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                        guard closed else { continue }  // still open
                        sockets[index] = try TestClient(port: port, receiveTimeout: 0.05, from: "127.0.0.2")
                        reopened.add(1)
                    }
                    usleep(1_000)
                }
            }
            defer { stop.raise(); _ = try? flooder.value(within: 10) }
            // The honest client comes only once the attack is under way: the relay has
            // closed at least one flood socket and the flooder has reopened it.
            let floodDeadline = Date().addingTimeInterval(10)
            while reopened.value == 0, !flooder.isFinished, Date() < floodDeadline { usleep(2_000) }
            #expect(reopened.value > 0, "the relay should close the flood's sockets beyond the per-address limit")
            let reopenedBefore = reopened.value
            var joined = 0
            for attempt in 0..<20 {
                let honest = try TestClient(port: server.port, receiveTimeout: 5, from: "127.0.0.3")
                let welcome = try honest.join("honest\(attempt)")
                #expect(welcome.peer == "")
                joined += 1
                try honest.send(.bye)
                try honest.expectEnd()
            }
            #expect(joined == 20)
            if flooder.isFinished { try flooder.value(within: 1) }  // surfaces the flooder's error
            print("slot flood: the honest client joined \(joined) of 20 times; the flood reopened \(reopenedBefore) sockets before and \(reopened.value - reopenedBefore) while it joined")
        }
    }
}
