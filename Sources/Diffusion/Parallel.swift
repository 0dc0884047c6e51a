import Foundation
import Synchronization

/// Work split over threads with results in index order, so that what a caller computes
/// from them does not depend on the thread count.
enum Parallel {
    /// `body(0..<count)` on up to `threads` threads, results in index order.
    static func map<T: Sendable>(count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
        if threads == 1 || count == 1 { return (0..<count).map(body) }
        let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize(); slots.deallocate() }
        let next = Atomic<Int>(0)
        let sink = ResultSlots(base: slots.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: min(threads, count)) { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count { break }
                sink.base[i] = body(i)
            }
        }
        return slots.map { $0! }
    }
}

/// Disjoint per-index destinations; each index is written by exactly one worker.
private struct ResultSlots<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T?>
}
