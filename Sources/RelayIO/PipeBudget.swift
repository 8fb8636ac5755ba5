/// A bound on the kernel pipes (two descriptors each) that are open at once: one budget
/// per connection, drawing on one for the whole process. A ``SplicePipe`` takes a slot
/// when it opens and gives it back when it closes; with no slot left the caller copies
/// through memory instead, so descriptors stay for connections.
public final class PipeBudget {
    /// Pipes allowed open at once under this budget.
    public let limit: Int
    /// Pipes open now under this budget.
    public private(set) var inUse = 0
    private let parent: PipeBudget?

    /// A budget of `limit` pipes, each also counted against `parent` when given.
    public init(limit: Int, parent: PipeBudget? = nil) {
        self.limit = limit
        self.parent = parent
    }

    /// Takes a slot here and in every parent, or none when any is exhausted.
    func take() -> Bool {
        guard inUse < limit else { return false }
        if let parent, !parent.take() { return false }
        inUse += 1
        return true
    }

    /// Gives back a slot taken with ``take()``.
    func give() {
        precondition(inUse > 0)
        inUse -= 1
        parent?.give()
    }
}
