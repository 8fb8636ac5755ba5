import CRelayShims

/// How the process's allocator treats large buffers (queue chunks, receive buffers).
public enum ProcessMemory {
    /// Allocations of at least `bytes` get a mapping of their own, returned to the system
    /// when freed. By default glibc raises this threshold after the first large free and
    /// serves later chunks of assorted sizes from the heap, whose holes keep the peak
    /// resident size megabytes above what is actually queued.
    public static func mapAllocations(atLeast bytes: Int) {
        _ = CRelayShims_mallopt_mmap_threshold(Int32(clamping: bytes))
    }
}
