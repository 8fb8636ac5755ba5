#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Bytes waiting to be written to one socket, flushed with vector writes as far as the
/// kernel takes them (swift-nio's `PendingWritesManager` idea). A partial write leaves an
/// offset into the head chunk, never a copy. Small appends are packed into the tail chunk,
/// so a queue of many small frames still goes out in few `iovec`s. A chunk's memory comes
/// from a ``BufferPool`` and goes back to it once written: the relay's connections share
/// one pool per event loop (an idle connection holds none), a queue made without one
/// keeps a few chunks of its own, so a stream that keeps the queue busy reuses warm
/// memory instead of faulting in fresh pages for every chunk.
public final class OutputQueue {
    /// Writes the vectors given; injected so tests can script partial writes.
    public typealias VectorWriter = (UnsafeBufferPointer<iovec>) throws(IOError) -> IOResult

    /// Room a new chunk gets at least, so that small appends share chunks.
    static let minimumChunkCapacity = 16 * 1024
    /// Vectors per `writev` call.
    static let maximumVectors = 64

    /// Moves up to the given number of bytes from a pipe to the socket.
    public typealias PipeWriter = (SplicePipe, Int) throws(IOError) -> IOResult

    private final class Chunk {
        let storage: UnsafeMutableRawBufferPointer
        var start = 0
        var end = 0
        /// Set for a spliced segment: its bytes wait in this pipe, not in `storage`.
        let pipe: SplicePipe?
        /// Holds a secret (a session key): wiped as soon as it is written or dropped.
        var holdsSecret = false
        /// Where `storage` came from and goes back to (nil: freed).
        private let pool: BufferPool?

        /// A chunk of at least `capacity` bytes from `pool`.
        init(capacity: Int, pool: BufferPool) {
            storage = pool.take(atLeast: capacity)
            self.pool = pool
            pipe = nil
        }

        init(pipe: SplicePipe) {
            storage = .allocate(byteCount: 0, alignment: 16)
            self.pipe = pipe
            self.pool = nil
            end = pipe.count
        }

        deinit {
            wipeIfSecret()
            if let pool {
                pool.give(storage)
            } else {
                storage.deallocate()
            }
        }

        func wipeIfSecret() {
            guard holdsSecret else { return }
            if let base = storage.baseAddress { explicit_bzero(base, storage.count) }
            holdsSecret = false
        }

        var count: Int { end - start }
        var spare: Int { storage.count - end }

        /// Copies `bytes` after what the chunk holds (the caller checked the room).
        func copyIn(_ bytes: UnsafeRawBufferPointer) {
            guard let source = bytes.baseAddress, bytes.count > 0 else { return }
            (storage.baseAddress! + end).copyMemory(from: source, byteCount: bytes.count)
            end += bytes.count
        }
    }

    private let writer: VectorWriter
    private let pipeWriter: PipeWriter?
    private var chunks: [Chunk] = []
    private var head = 0
    /// Where chunks come from and go back to once written or dropped.
    private let chunkPool: BufferPool
    /// Made on the first flush of queued chunks: a connection whose writes all go
    /// straight to the kernel never needs it.
    private lazy var vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: OutputQueue.maximumVectors)
    private var hasVectors = false
    /// Bytes queued and not yet written.
    public private(set) var byteCount = 0
    /// Bytes that have left the queue since it was made: written, dropped or moved to
    /// another queue. With ``position`` it lets a caller follow particular bytes: those
    /// appended when `position` was P are gone once `retiredCount` reaches P.
    public private(set) var retiredCount = 0
    /// The position of the queue's end: every byte ever appended, counted.
    public var position: Int { retiredCount + byteCount }

    /// A backlog's bounds (swift-nio's `WriteBufferWaterMark`): the queue is *congested*
    /// from when it reaches `high` bytes until it falls below `low`.
    public struct WaterMarks: Sendable, Equatable {
        public let low: Int
        public let high: Int
        public init(low: Int, high: Int) {
            precondition(low <= high)
            self.low = low
            self.high = high
        }
    }

    /// The water marks, or nil for none (the queue is then never congested).
    public var waterMarks: WaterMarks?
    /// True from when the queue reached its high water mark until it fell below its low
    /// one.
    public private(set) var isCongested = false
    /// Told each time ``isCongested`` changes, with its new value; the owner decides whom
    /// to pause. It may append to or flush other queues, not this one.
    public var onCongestionChange: ((Bool) -> Void)?

    private func checkWaterMarks() {
        guard let waterMarks else { return }
        if !isCongested, byteCount >= waterMarks.high {
            isCongested = true
            onCongestionChange?(true)
        } else if isCongested, byteCount < waterMarks.low {
            isCongested = false
            onCongestionChange?(false)
        }
    }

    /// A queue that writes with `writer`, and splices pipes onwards with `pipeWriter`
    /// (without one, a spliced segment is copied out of its pipe when appended). Its
    /// chunks come from `chunkPool`, or from a small pool of its own (``makeChunkPool()``).
    public init(writer: @escaping VectorWriter, pipeWriter: PipeWriter? = nil, chunkPool: BufferPool? = nil) {
        self.writer = writer
        self.pipeWriter = pipeWriter
        self.chunkPool = chunkPool ?? Self.makeChunkPool()
    }

    /// A pool for queue chunks: new chunks get at least ``minimumChunkCapacity`` bytes,
    /// and at most `maximumSpares` written chunks up to 1 MiB each are kept for reuse.
    /// Queues on one thread may share one.
    public static func makeChunkPool(maximumSpares: Int = 4) -> BufferPool {
        BufferPool(bufferSize: minimumChunkCapacity, maximumSpares: maximumSpares, maximumSpareSize: 1 << 20)
    }

    deinit { if hasVectors { vectors.deallocate() } }

    /// A queue that writes to `stream` (with `writev` for plain TCP), its chunks from
    /// `chunkPool` (or its own). Plain TCP also splices pipes straight to the socket.
    public convenience init(stream: ByteStream, chunkPool: BufferPool? = nil) {
        let fd = stream.fd
        self.init(
            writer: { vectors throws(IOError) in try stream.write(vectors) },
            pipeWriter: stream is PlainStream ? { pipe, limit throws(IOError) in try pipe.drain(to: fd, limit: limit) } : nil,
            chunkPool: chunkPool)
    }

    /// True when nothing waits.
    public var isEmpty: Bool { byteCount == 0 }

    /// Copies `bytes` to the end of the queue.
    public func append(_ bytes: UnsafeRawBufferPointer) {
        append(bytes, followedBy: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Copies `first` and then `second` to the end of the queue, side by side in one
    /// chunk, so that they go out in one vector: a frame's header and its body then make
    /// one TLS write (not a record of its own for a 5-byte header).
    public func append(_ first: UnsafeRawBufferPointer, followedBy second: UnsafeRawBufferPointer) {
        let count = first.count + second.count
        guard count > 0 else { return }
        let tail: Chunk
        if head < chunks.count, let last = chunks.last, !last.holdsSecret, last.spare >= count {
            tail = last
        } else {
            tail = Chunk(capacity: count, pool: chunkPool)
            chunks.append(tail)
        }
        tail.copyIn(first)
        tail.copyIn(second)
        byteCount += count
        checkWaterMarks()
    }

    /// Copies `bytes` to the end of the queue.
    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Copies `bytes`, which hold a secret (a session key), to the end of the queue in a
    /// chunk of their own that is wiped as soon as it is written out or dropped.
    public func appendSecret(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, let source = bytes.baseAddress else { return }
        let chunk = Chunk(capacity: bytes.count, pool: chunkPool)
        chunk.holdsSecret = true
        chunk.storage.baseAddress!.copyMemory(from: source, byteCount: bytes.count)
        chunk.end = bytes.count
        chunks.append(chunk)
        byteCount += bytes.count
        checkWaterMarks()
    }

    /// Queues everything in `pipe` after what is queued (it is spliced onwards when its
    /// turn comes); without a pipe writer, the bytes are copied out of the pipe now.
    public func appendSpliced(_ pipe: SplicePipe) throws(IOError) {
        guard pipe.count > 0 else { return }
        guard pipeWriter != nil else {
            let chunk = Chunk(capacity: pipe.count, pool: chunkPool)
            let count = pipe.count
            try pipe.readAll(into: chunk.storage)
            chunk.end = count
            chunks.append(chunk)
            byteCount += count
            checkWaterMarks()
            return
        }
        chunks.append(Chunk(pipe: pipe))
        byteCount += pipe.count
        checkWaterMarks()
    }

    /// Writes `bytes` straight to the socket when nothing else is queued, and queues only
    /// what the kernel did not take: the common case costs one write and no copy.
    /// Returns true when everything was written.
    public func writeOrAppend(_ bytes: UnsafeRawBufferPointer) throws(IOError) -> Bool {
        guard byteCount == 0, bytes.count > 0 else {
            append(bytes)
            return byteCount == 0
        }
        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        let result = try withUnsafePointer(to: &vector) { pointer throws(IOError) in
            try writer(UnsafeBufferPointer(start: pointer, count: 1))
        }
        let written: Int
        switch result {
        case .processed(let count): written = count
        case .wouldBlock: written = 0
        }
        if written < bytes.count {
            append(UnsafeRawBufferPointer(rebasing: bytes[written...]))
            return false
        }
        return true
    }

    /// Writes as much as the socket takes. Returns true when the queue is empty.
    @discardableResult
    public func flush() throws(IOError) -> Bool {
        while byteCount > 0 {
            if let pipe = chunks[head].pipe, let pipeWriter {
                let offered = chunks[head].count
                guard case .processed(let written) = try pipeWriter(pipe, offered) else { return false }
                consume(written)
                if written < offered { return false }
                continue
            }
            hasVectors = true
            var vectorCount = 0
            var offered = 0
            var index = head
            while index < chunks.count, vectorCount < Self.maximumVectors, chunks[index].pipe == nil {
                let chunk = chunks[index]
                vectors[vectorCount] = iovec(iov_base: chunk.storage.baseAddress! + chunk.start, iov_len: chunk.count)
                offered += chunk.count
                vectorCount += 1
                index += 1
            }
            let result = try writer(UnsafeBufferPointer(rebasing: vectors[0..<vectorCount]))
            guard case .processed(let written) = result else { return false }
            consume(written)
            if written < offered { return byteCount == 0 }
        }
        return true
    }

    /// Drops everything queued (the chunks go back to the pool, secrets wiped).
    public func removeAll() {
        retiredCount += byteCount
        for chunk in chunks { chunk.wipeIfSecret() }
        chunks.removeAll()
        head = 0
        byteCount = 0
        checkWaterMarks()
    }

    /// Moves everything queued here to the end of `other`, without copying bytes.
    public func moveAll(to other: OutputQueue) {
        guard byteCount > 0 else { return }
        other.chunks.append(contentsOf: chunks[head...])
        other.byteCount += byteCount
        // The chunks now belong to `other` (secrets too, still unwritten): forget them
        // here without wiping.
        retiredCount += byteCount
        chunks.removeAll()
        head = 0
        byteCount = 0
        checkWaterMarks()
        other.checkWaterMarks()
    }

    /// A written-out chunk at least this large leaves the array at once (back to the
    /// pool) instead of waiting for the queue to empty: a receiver that never catches up
    /// (a TLS stream of large frames) would otherwise hold up to 32 written megabyte
    /// chunks, and the pool would never get one back to reuse.
    static let largeChunkCapacity = 64 * 1024

    private func consume(_ count: Int) {
        var remaining = count
        byteCount -= count
        retiredCount += count
        var wroteLargeChunk = false
        while remaining > 0 {
            let chunk = chunks[head]
            let taken = min(remaining, chunk.count)
            chunk.start += taken
            remaining -= taken
            if chunk.count == 0 {
                chunk.wipeIfSecret()
                head += 1
                if chunk.storage.count >= Self.largeChunkCapacity { wroteLargeChunk = true }
            }
        }
        checkWaterMarks()
        if head == chunks.count || head >= 32 || wroteLargeChunk {
            // The written chunks go back to the pool as they are released.
            if head == chunks.count {
                chunks.removeAll(keepingCapacity: true)
            } else {
                chunks.removeFirst(head)
            }
            head = 0
        }
    }
}
