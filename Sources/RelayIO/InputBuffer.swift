/// A growable receive buffer with reader and writer indices (swift-nio's `ByteBuffer`
/// idea, reduced to what a reactor needs): reads land in the writable tail, consumers
/// take bytes from the readable head, and the unread part is moved to the front only
/// when room is needed.
///
/// With a ``BufferPool``, the buffer's storage is taken from the pool when bytes arrive
/// and given back by ``releaseIfEmpty()`` once everything is consumed: an idle
/// connection then holds no storage at all.
public final class InputBuffer {
    private var storage: UnsafeMutableRawBufferPointer
    private var readIndex = 0
    private var writeIndex = 0
    private let pool: BufferPool?

    /// Creates an empty buffer with `capacity` bytes of room; with a `pool`, room beyond
    /// that comes from the pool.
    public init(capacity: Int, pool: BufferPool? = nil) {
        storage = .allocate(byteCount: max(capacity, 16), alignment: 16)
        self.pool = pool
    }

    deinit { free(storage) }

    private func free(_ buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count > 0 else { return }
        if let pool { pool.give(buffer) } else { buffer.deallocate() }
    }

    /// With a pool: gives the storage back when nothing is left to consume.
    public func releaseIfEmpty() {
        guard pool != nil, readableCount == 0, storage.count > 0 else { return }
        free(storage)
        storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        readIndex = 0
        writeIndex = 0
    }

    /// Bytes allocated.
    public var capacity: Int { storage.count }
    /// Bytes received and not yet consumed.
    public var readableCount: Int { writeIndex - readIndex }
    /// The bytes received and not yet consumed; valid until the next mutation.
    public var readableBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[readIndex..<writeIndex])
    }

    /// Marks `count` readable bytes as consumed.
    public func consume(_ count: Int) {
        precondition(count <= readableCount)
        readIndex += count
        if readIndex == writeIndex {
            readIndex = 0
            writeIndex = 0
        }
    }

    /// Makes room for at least `minimum` more bytes: first by moving the unread bytes to
    /// the front, then by growing (at least doubling).
    public func reserveWritable(_ minimum: Int) {
        guard storage.count - writeIndex < minimum else { return }
        let readable = readableCount
        if readIndex > 0 {
            if readable > 0 {
                storage.baseAddress!.copyMemory(from: storage.baseAddress! + readIndex, byteCount: readable)
            }
            readIndex = 0
            writeIndex = readable
            if storage.count - writeIndex >= minimum { return }
        }
        let wanted = max(readable + minimum, storage.count * 2)
        let grown = pool?.take(atLeast: wanted) ?? .allocate(byteCount: wanted, alignment: 16)
        if readable > 0 { grown.baseAddress!.copyMemory(from: storage.baseAddress! + readIndex, byteCount: readable) }
        free(storage)
        storage = grown
        readIndex = 0
        writeIndex = readable
    }

    /// Gives the memory back when the buffer is empty and larger than `capacity`.
    public func shrinkIfEmpty(to capacity: Int) {
        guard readableCount == 0, storage.count > capacity else { return }
        free(storage)
        storage = .allocate(byteCount: max(capacity, 16), alignment: 16)
        readIndex = 0
        writeIndex = 0
    }

    /// Reads from `stream` into the writable tail: at most `limit` bytes, and at least
    /// `limit` bytes of room are made first.
    public func read(from stream: ByteStream, limit: Int) throws(IOError) -> IOResult {
        reserveWritable(limit)
        let target = UnsafeMutableRawBufferPointer(rebasing: storage[writeIndex..<(writeIndex + limit)])
        let result = try stream.read(into: target)
        if case .processed(let count) = result { writeIndex += count }
        return result
    }

    /// Appends bytes (for tests and for callers that receive elsewhere).
    public func append(_ bytes: UnsafeRawBufferPointer) {
        reserveWritable(bytes.count)
        if bytes.count > 0 {
            (storage.baseAddress! + writeIndex).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        writeIndex += bytes.count
    }
}
