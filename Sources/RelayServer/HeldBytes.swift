import RelayIO

/// Follows some of the bytes in an ``OutputQueue`` (the PONGs of one connection) until
/// they are written: each is marked with the queue position its last byte ends at, and
/// is gone once the queue's ``OutputQueue/retiredCount`` passes that position.
struct HeldBytes {
    private var marks: [(end: Int, count: Int)] = []
    private var head = 0
    private var total = 0

    /// Records `count` bytes just appended to `queue`.
    mutating func add(_ count: Int, appendedTo queue: OutputQueue) {
        marks.append((queue.position, count))
        total += count
    }

    /// Bytes still in `queue`, forgetting those it has retired.
    mutating func count(in queue: OutputQueue) -> Int {
        let retired = queue.retiredCount
        while head < marks.count, marks[head].end <= retired {
            total -= marks[head].count
            head += 1
        }
        if head == marks.count {
            marks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= marks.count {
            marks.removeFirst(head)
            head = 0
        }
        return total
    }
}
