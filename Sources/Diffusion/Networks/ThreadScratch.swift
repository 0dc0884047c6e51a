#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A per-thread work buffer of doubles for non-mutating, reentrant hot paths on value types
/// (`MLP`'s per-sample passes), so they do not touch the heap in steady state.
///
/// Why not `withUnsafeTemporaryAllocation`: on Linux the standard library puts only requests
/// of at most 1 KiB on the stack and heap-allocates larger ones (measured with heaptrack:
/// one allocation per call for a 7 KiB MLP work space). Here each thread owns one buffer
/// (a POSIX thread-specific value, freed with the thread) that grows geometrically and is
/// reused; a nested request on the same thread while the buffer is in use falls back to a
/// fresh heap buffer, so reentrancy stays correct.
final class ThreadScratch {
    private(set) var base: UnsafeMutablePointer<Double>
    private(set) var capacity: Int
    var inUse = false

    private init() {
        capacity = 1024
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    private func reserve(_ count: Int) {
        guard count > capacity else { return }
        base.deallocate()
        capacity = max(count, 2 * capacity)
        base = .allocate(capacity: capacity)
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<ThreadScratch>.fromOpaque(pointer).release()
        }
        precondition(status == 0, "pthread_key_create failed (\(status))")
        return key
    }()

    private static var current: ThreadScratch {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<ThreadScratch>.fromOpaque(pointer).takeUnretainedValue()
        }
        let scratch = ThreadScratch()
        pthread_setspecific(key, Unmanaged.passRetained(scratch).toOpaque())
        return scratch
    }

    /// Calls `body` with `count` doubles of uninitialised work space owned by this thread.
    @inline(__always)
    static func with<R>(count: Int, _ body: (UnsafeMutablePointer<Double>) -> R) -> R {
        let scratch = current
        if scratch.inUse {
            let buffer = UnsafeMutablePointer<Double>.allocate(capacity: max(count, 1))
            defer { buffer.deallocate() }
            return body(buffer)
        }
        scratch.reserve(count)
        scratch.inUse = true
        defer { scratch.inUse = false }
        return body(scratch.base)
    }
}
