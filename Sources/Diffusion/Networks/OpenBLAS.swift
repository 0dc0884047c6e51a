import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Dense matrix products through OpenBLAS's CBLAS (`cblas_dgemm`), for the network
/// ensembles (`MLP.addWeightedBatchGradient`). Debian's `libopenblas-dev` (`make deps`).
///
/// OpenBLAS is opened with `dlopen(…, RTLD_LOCAL)` and its symbols looked up in that handle
/// only: GSL keeps its own reference CBLAS (`gslcblas`), so every GSL result — eigenvalues,
/// QR, fits — has the bits it had before, while the network products run on OpenBLAS. Linked
/// the ordinary way, the two libraries' `cblas_*` symbols would interpose, and which one GSL
/// calls would depend on the link order.
///
/// OpenBLAS runs single-threaded here (`openblas_set_num_threads(1)`): the ensembles
/// parallelise over chains themselves, and one thread per product makes each product's
/// bits independent of the thread count. OpenBLAS picks its kernels for the CPU it runs on
/// (`openblas_get_corename`), so bit-identity holds on machines of one CPU type; setting
/// `OPENBLAS_CORETYPE` (e.g. `Haswell`) before the run fixes the kernels across machines.
public enum OpenBLAS {
    typealias Dgemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Double,
                                      UnsafePointer<Double>?, Int32, UnsafePointer<Double>?, Int32,
                                      Double, UnsafeMutablePointer<Double>?, Int32) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias CoreName = @convention(c) () -> UnsafeMutablePointer<CChar>?

    struct Library: @unchecked Sendable {
        let dgemm: Dgemm
        let coreName: String
    }

    /// The library, opened on first use, or why it could not be.
    static let loaded: Result<Library, DynamicsError> = load()
    /// Resolved once: every product reads it (three per layer and block).
    static let library: Library? = try? loaded.get()

    /// Whether OpenBLAS could be opened.
    public static let isAvailable = library != nil
    /// Nil when OpenBLAS is available, else a one-line reason (what to install).
    public static var unavailableReason: String? {
        if case .failure(let e) = loaded { return e.message }
        return nil
    }
    /// The kernel family OpenBLAS chose for this CPU (e.g. "SkylakeX"), or why it is missing.
    public static var coreName: String { library?.coreName ?? "unavailable (\(unavailableReason ?? ""))" }

    private static func load() -> Result<Library, DynamicsError> {
        let names = ["libopenblas.so.0", "libopenblas.so"]
        var handle: UnsafeMutableRawPointer? = nil
        for name in names where handle == nil { handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) }
        guard let handle else {
            return .failure(DynamicsError("cannot open OpenBLAS (libopenblas.so.0); install Debian's libopenblas-dev (make deps)"))
        }
        guard let gemm = dlsym(handle, "cblas_dgemm") else { return .failure(DynamicsError("OpenBLAS has no cblas_dgemm")) }
        if let set = dlsym(handle, "openblas_set_num_threads") {
            unsafeBitCast(set, to: SetThreads.self)(1)
        }
        var core = "unknown"
        if let name = dlsym(handle, "openblas_get_corename"), let text = unsafeBitCast(name, to: CoreName.self)() {
            core = String(cString: text)
        }
        return .success(Library(dgemm: unsafeBitCast(gemm, to: Dgemm.self), coreName: core))
    }

    // CBLAS enum values (cblas.h).
    static let rowMajor: Int32 = 101
    static let noTrans: Int32 = 111, trans: Int32 = 112

    /// C ← α·op(A)·op(B) + β·C, row-major: op(A) is m×k, op(B) k×n, C m×n; `lda`, `ldb`,
    /// `ldc` the row strides of A, B, C as stored. Requires OpenBLAS (`isAvailable`).
    @inline(__always)
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        library.unsafelyUnwrapped.dgemm(rowMajor, transposeA ? trans : noTrans, transposeB ? trans : noTrans,
                                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                                        beta, c, Int32(ldc))
    }
}
