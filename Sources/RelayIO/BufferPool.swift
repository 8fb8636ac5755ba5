/// Receive buffers shared by the connections of one event loop (one thread): a
/// connection takes one when bytes arrive and gives it back once it has consumed them
/// all, so an idle connection holds no large buffer and a join costs no `mmap`. Buffers
/// of ``bufferSize`` to ``maximumSpareSize`` bytes are kept for reuse (a large frame's
/// buffer too, so a stream of them does not map and unmap one per frame), at most
/// ``maximumSpares`` of them.
public final class BufferPool {
    /// The size of the buffers kept.
    public let bufferSize: Int
    /// Spare buffers kept at most; beyond it a returned buffer is freed.
    public let maximumSpares: Int
    /// The largest buffer kept.
    public let maximumSpareSize: Int
    private var spares: [UnsafeMutableRawBufferPointer] = []

    public init(bufferSize: Int, maximumSpares: Int = 4, maximumSpareSize: Int = 2 << 20) {
        self.bufferSize = bufferSize
        self.maximumSpares = maximumSpares
        self.maximumSpareSize = max(bufferSize, maximumSpareSize)
    }

    deinit {
        for buffer in spares { buffer.deallocate() }
    }

    /// Spare buffers held now.
    public var spareCount: Int { spares.count }

    /// A buffer of at least `minimum` bytes: the smallest spare one large enough, else a
    /// new one of ``bufferSize`` bytes (or of `minimum`, when larger).
    public func take(atLeast minimum: Int) -> UnsafeMutableRawBufferPointer {
        var best: Int?
        for index in spares.indices where spares[index].count >= minimum {
            if best.map({ spares[index].count < spares[$0].count }) ?? true { best = index }
        }
        if let best { return spares.remove(at: best) }
        return .allocate(byteCount: max(minimum, bufferSize), alignment: 16)
    }

    /// Takes back a buffer from ``take(atLeast:)`` (or frees it).
    public func give(_ buffer: UnsafeMutableRawBufferPointer) {
        if buffer.count >= bufferSize, buffer.count <= maximumSpareSize, spares.count < maximumSpares {
            spares.append(buffer)
        } else {
            buffer.deallocate()
        }
    }
}
