import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One writer per output folder: an exclusive `flock` on `DIR/.lock`, taken before a run or a
/// merge creates or opens the store there and held until the process exits (the kernel
/// releases it when the process dies, `kill -9` included). The holder writes its pid, host
/// and start time into the file, so a refused second writer can name it.
public final class StoreLock {
    public static let fileName = ".lock"
    let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Takes the lock on `directory` (which must exist) or throws a one-line error naming
    /// the holder. Never waits.
    public static func acquire(directory: URL) throws -> StoreLock {
        let path = directory.appendingPathComponent(fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ResultsStore.StoreError("cannot create the lock file \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            // the holder writes its line just after taking the lock: give it a moment
            var holder = ""
            for attempt in 0..<20 {
                var buffer = [UInt8](repeating: 0, count: 256)
                let n = pread(fd, &buffer, buffer.count, 0)
                if n > 0 {
                    holder = String(decoding: buffer[0..<n], as: UTF8.self)
                        .split(separator: "\n").first.map { String($0.prefix(160)) } ?? ""
                }
                if !holder.isEmpty || attempt == 19 { break }
                usleep(10_000)
            }
            close(fd)
            if code == EWOULDBLOCK || code == EAGAIN {
                let who = holder.isEmpty ? "another sgd-escape process" : holder
                throw ResultsStore.StoreError("\(directory.path) is in use by \(who) (it holds \(path)); wait for it to finish, or choose another --out")
            }
            throw ResultsStore.StoreError("cannot lock \(path): \(String(cString: strerror(code)))")
        }
        let started = ISO8601DateFormatter().string(from: Date())
        let text = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), started \(started)\n"
        // written over the previous holder's line, then cut to length: never empty in between
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBufferPointer { p in pwrite(fd, p.baseAddress, p.count, 0) }
        _ = ftruncate(fd, off_t(bytes.count))
        return StoreLock(descriptor: fd, path: path)
    }
}
