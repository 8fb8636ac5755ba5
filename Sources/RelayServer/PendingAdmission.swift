/// Who may hold a slot among the connections that have not joined yet (PROTOCOL.md
/// section 6, "Limits"): at most `maxPerAddress` from one IP address and at most
/// `maxTotal` in all. Pure bookkeeping, no sockets: the reactor asks on each accept and
/// reports joins and closes.
///
/// When every slot is taken, a newcomer from an address that holds fewer slots than the
/// busiest one takes the busiest address's oldest slot: a flood of idle sockets from a
/// few addresses then only ever competes with itself, and an honest client from another
/// address joins on its first try. A newcomer from the busiest address (or one as busy)
/// is the one beyond the limit and is closed at once.
public struct PendingAdmission {
    /// What to do with a new connection.
    public enum Decision: Equatable {
        /// Admit it.
        case admit
        /// Admit it, and close this older connection (not yet joined) at once.
        case admitClosing(ConnectionID)
        /// Close it at once, with no frame: its address is at its limit.
        case refuseAddressLimit
        /// Close it at once, with no frame: every slot is taken by addresses no busier
        /// than its own.
        case refuseTotalLimit
    }

    /// Connections not yet joined allowed from one address.
    public let maxPerAddress: Int
    /// Connections not yet joined allowed in all.
    public let maxTotal: Int
    /// Pending connections per address, oldest first.
    private var byAddress: [String: [ConnectionID]] = [:]
    private var addressOf: [ConnectionID: String] = [:]

    public init(maxPerAddress: Int, maxTotal: Int) {
        precondition(maxPerAddress >= 1 && maxTotal >= 1)
        self.maxPerAddress = maxPerAddress
        self.maxTotal = maxTotal
    }

    /// Connections holding a slot.
    public var count: Int { addressOf.count }

    /// Slots held by `address`.
    public func count(from address: String) -> Int { byAddress[address]?.count ?? 0 }

    /// Decides on a new connection `id` from `address` (an IP address, without port) and
    /// records it when admitted; a connection named in `.admitClosing` no longer holds a
    /// slot.
    public mutating func admit(_ id: ConnectionID, from address: String) -> Decision {
        let own = count(from: address)
        guard own < maxPerAddress else { return .refuseAddressLimit }
        var decision = Decision.admit
        if count >= maxTotal {
            guard let busiest = byAddress.values.max(by: { $0.count < $1.count }),
                  busiest.count > own + 1, let oldest = busiest.first
            else { return .refuseTotalLimit }
            remove(oldest)
            decision = .admitClosing(oldest)
        }
        byAddress[address, default: []].append(id)
        addressOf[id] = address
        return decision
    }

    /// Gives up the slot of `id` (it joined, or closed); nothing happens if it held none.
    public mutating func remove(_ id: ConnectionID) {
        guard let address = addressOf.removeValue(forKey: id) else { return }
        byAddress[address]?.removeAll { $0 == id }
        if byAddress[address]?.isEmpty == true { byAddress[address] = nil }
    }
}
