import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sparse direct LU of a square, non-symmetric matrix by SuiteSparse UMFPACK (Davis, "Algorithm
/// 832: UMFPACK V4.3 — an unsymmetric-pattern multifrontal method", ACM TOMS 30, 2004), the
/// solver behind MATLAB's `\` for sparse matrices; Debian's `libsuitesparse-dev` (`make deps`).
///
/// The matrix is given in compressed-row form (`rowStarts`, `columns`, `values`, 0-based, the
/// columns of a row in any order, no duplicates). UMFPACK reads compressed *columns*, so it sees
/// Aᵀ and `solve` asks it for `Aᵀᵀx = b` (`UMFPACK_At`): no transposed copy is made. Default
/// control: the automatic strategy (for the grid operators' symmetric pattern, AMD on A + Aᵀ
/// with diagonal pivots preferred, threshold partial pivoting 0.1 otherwise), row scaling by
/// the row sums, at most 2 steps of iterative refinement per solve; `Grid3D` asks for METIS
/// ordering and the 64-bit-index family (`IndexWidth`).
///
/// Opened with `dlopen(…, RTLD_LOCAL)` like `OpenBLAS`: nothing is linked at build time, so
/// the package builds without SuiteSparse, and UMFPACK's BLAS (Debian: OpenBLAS through
/// `libblas.so.3`) does not interpose GSL's own CBLAS. That BLAS is set to one thread
/// (`openblas_set_num_threads(1)` when present): the grids are solved on the caller's core and
/// the factors' bits do not depend on a thread count.
final class SparseLU {
    typealias Symbolic = @convention(c) (Int32, Int32, UnsafePointer<Int32>?, UnsafePointer<Int32>?, UnsafePointer<Double>?,
                                         UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafePointer<Double>?,
                                         UnsafeMutablePointer<Double>?) -> Int32
    typealias Numeric = @convention(c) (UnsafePointer<Int32>?, UnsafePointer<Int32>?, UnsafePointer<Double>?,
                                        UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                        UnsafePointer<Double>?, UnsafeMutablePointer<Double>?) -> Int32
    typealias WSolve = @convention(c) (Int32, UnsafePointer<Int32>?, UnsafePointer<Int32>?, UnsafePointer<Double>?,
                                       UnsafeMutablePointer<Double>?, UnsafePointer<Double>?, UnsafeMutableRawPointer?,
                                       UnsafePointer<Double>?, UnsafeMutablePointer<Double>?,
                                       UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Double>?) -> Int32
    typealias Free = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Void
    typealias Defaults = @convention(c) (UnsafeMutablePointer<Double>?) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    // umfpack_dl_*: the same with 64-bit indices (SuiteSparse_long)
    typealias WideSymbolic = @convention(c) (Int, Int, UnsafePointer<Int>?, UnsafePointer<Int>?, UnsafePointer<Double>?,
                                             UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafePointer<Double>?,
                                             UnsafeMutablePointer<Double>?) -> Int
    typealias WideNumeric = @convention(c) (UnsafePointer<Int>?, UnsafePointer<Int>?, UnsafePointer<Double>?,
                                            UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                            UnsafePointer<Double>?, UnsafeMutablePointer<Double>?) -> Int
    typealias WideWSolve = @convention(c) (Int, UnsafePointer<Int>?, UnsafePointer<Int>?, UnsafePointer<Double>?,
                                           UnsafeMutablePointer<Double>?, UnsafePointer<Double>?, UnsafeMutableRawPointer?,
                                           UnsafePointer<Double>?, UnsafeMutablePointer<Double>?,
                                           UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Double>?) -> Int

    struct Library: @unchecked Sendable {
        let symbolic: Symbolic, numeric: Numeric, wsolve: WSolve
        let freeSymbolic: Free, freeNumeric: Free, defaults: Defaults
        /// The 64-bit-index family (nil where the library lacks it).
        let wide: (symbolic: WideSymbolic, numeric: WideNumeric, wsolve: WideWSolve, freeSymbolic: Free, freeNumeric: Free)?
    }

    /// Index width of the UMFPACK family used. `int32` (`umfpack_di_*`) allocates its numeric
    /// workspace in one block below 2³¹ bytes — measured: a 65³ grid failed "out of memory" at
    /// 2.2 GB resident; `int64` (`umfpack_dl_*`) has no such limit and costs a 64-bit copy of the
    /// index arrays.
    enum IndexWidth { case int32, int64 }

    // umfpack.h
    static let controlCount = 20, infoCount = 90
    static let systemTransposed: Int32 = 1  // UMFPACK_At: Aᵀx = b
    static let infoNumericSize = 40, infoPeakMemory = 41, infoLNZ = 43, infoUNZ = 44, infoSizeOfUnit = 3
    static let irstep = 7, orderingIndex = 10

    /// The fill-reducing ordering (`Control[UMFPACK_ORDERING]`).
    enum Ordering: Double {
        /// AMD on A + Aᵀ (UMFPACK's default; best measured for the 2-D grids).
        case amd = 1
        /// METIS nested dissection (George, SIAM J. Numer. Anal. 10, 1973: fill ∝ N^(4/3) on 3-D grids).
        case metis = 3
    }

    /// The library, opened on first use, or why it could not be.
    static let loaded: Result<Library, SparseLUError> = load()

    /// Whether UMFPACK could be opened.
    static var isAvailable: Bool { (try? loaded.get()) != nil }

    private static func load() -> Result<Library, SparseLUError> {
        var handle: UnsafeMutableRawPointer? = nil
        for name in ["libumfpack.so.6", "libumfpack.so.5", "libumfpack.so"] where handle == nil {
            handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)
        }
        guard let handle else {
            return .failure(SparseLUError("cannot open SuiteSparse UMFPACK (libumfpack.so.5 or .6); install Debian's libsuitesparse-dev (make deps)"))
        }
        func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }
        guard let s = symbol("umfpack_di_symbolic"), let n = symbol("umfpack_di_numeric"), let w = symbol("umfpack_di_wsolve"),
              let fs = symbol("umfpack_di_free_symbolic"), let fn = symbol("umfpack_di_free_numeric"),
              let d = symbol("umfpack_di_defaults") else {
            return .failure(SparseLUError("the UMFPACK library found lacks umfpack_di_symbolic/numeric/wsolve"))
        }
        // the BLAS UMFPACK loaded (searched in this handle's dependencies only)
        if let set = symbol("openblas_set_num_threads") { unsafeBitCast(set, to: SetThreads.self)(1) }
        var wide: (symbolic: WideSymbolic, numeric: WideNumeric, wsolve: WideWSolve, freeSymbolic: Free, freeNumeric: Free)? = nil
        if let s = symbol("umfpack_dl_symbolic"), let n = symbol("umfpack_dl_numeric"), let w = symbol("umfpack_dl_wsolve"),
           let fs = symbol("umfpack_dl_free_symbolic"), let fn = symbol("umfpack_dl_free_numeric") {
            wide = (unsafeBitCast(s, to: WideSymbolic.self), unsafeBitCast(n, to: WideNumeric.self), unsafeBitCast(w, to: WideWSolve.self),
                    unsafeBitCast(fs, to: Free.self), unsafeBitCast(fn, to: Free.self))
        }
        return .success(Library(symbolic: unsafeBitCast(s, to: Symbolic.self), numeric: unsafeBitCast(n, to: Numeric.self),
                                wsolve: unsafeBitCast(w, to: WSolve.self), freeSymbolic: unsafeBitCast(fs, to: Free.self),
                                freeNumeric: unsafeBitCast(fn, to: Free.self), defaults: unsafeBitCast(d, to: Defaults.self),
                                wide: wide))
    }

    let n: Int
    private let library: Library
    private let rowStarts: [Int32], columns: [Int32], values: [Double]
    /// `IndexWidth.int64`: the index arrays in 64 bits (empty otherwise) and the solve's Wi.
    private let wideRowStarts: [Int], wideColumns: [Int]
    private let wideIntWork: UnsafeMutablePointer<Int>?
    private var numeric: UnsafeMutableRawPointer?
    private var control: [Double]
    /// Solve workspace (UMFPACK's Wi: n ints; W: 5n doubles with iterative refinement).
    private let intWork: UnsafeMutablePointer<Int32>
    private let work: UnsafeMutablePointer<Double>
    /// Bytes of the numeric factorisation and the peak of symbolic + numeric (UMFPACK's Info).
    let factorBytes: Double, peakBytes: Double
    /// Entries of L and U (diagonals included).
    let factorEntries: Double

    /// Factorises. Throws `SparseLUError` when UMFPACK is missing, runs out of memory, or the
    /// matrix is singular; `singularRow` then carries nothing more specific than the status.
    init(n: Int, rowStarts: [Int32], columns: [Int32], values: [Double], refinementSteps: Int = 2,
         ordering: Ordering? = nil, indexWidth: IndexWidth = .int32) throws(SparseLUError) {
        precondition(n > 0 && rowStarts.count == n + 1 && columns.count == values.count && Int(rowStarts[n]) == values.count)
        guard n < Int(Int32.max) && values.count < Int(Int32.max) else {
            throw SparseLUError("sparse LU: \(n) unknowns with \(values.count) entries exceed UMFPACK's 32-bit indices")
        }
        let library: Library
        switch SparseLU.loaded {
        case .success(let l): library = l
        case .failure(let e): throw e
        }
        if indexWidth == .int64 && library.wide == nil {
            throw SparseLUError("sparse LU: the UMFPACK library found lacks umfpack_dl_* (64-bit indices)")
        }
        self.n = n
        self.library = library
        self.rowStarts = rowStarts
        self.columns = columns
        self.values = values
        var control = [Double](repeating: 0, count: SparseLU.controlCount)
        library.defaults(&control)
        control[SparseLU.irstep] = Double(refinementSteps)
        if let ordering { control[SparseLU.orderingIndex] = ordering.rawValue }
        self.control = control
        var info = [Double](repeating: 0, count: SparseLU.infoCount)
        var symbolic: UnsafeMutableRawPointer? = nil
        var numeric: UnsafeMutableRawPointer? = nil
        var status1: Int32 = 0, status2: Int32 = 0
        if indexWidth == .int64, let wide = library.wide {
            let starts = rowStarts.map(Int.init), cols = columns.map(Int.init)
            status1 = Int32(wide.symbolic(n, n, starts, cols, values, &symbolic, control, &info))
            if status1 == 0 { status2 = Int32(wide.numeric(starts, cols, values, symbolic, &numeric, control, &info)) }
            wide.freeSymbolic(&symbolic)
            wideRowStarts = starts; wideColumns = cols
            wideIntWork = .allocate(capacity: n)
        } else {
            status1 = library.symbolic(Int32(n), Int32(n), rowStarts, columns, values, &symbolic, control, &info)
            if status1 == 0 {
                status2 = library.numeric(rowStarts, columns, values, symbolic, &numeric, control, &info)
            }
            library.freeSymbolic(&symbolic)
            wideRowStarts = []; wideColumns = []
            wideIntWork = nil
        }
        intWork = .allocate(capacity: n)
        work = .allocate(capacity: 5 * n)
        let unit = info[SparseLU.infoSizeOfUnit]
        factorBytes = info[SparseLU.infoNumericSize] * unit
        peakBytes = info[SparseLU.infoPeakMemory] * unit
        factorEntries = info[SparseLU.infoLNZ] + info[SparseLU.infoUNZ]
        self.numeric = numeric
        guard status1 == 0 else { throw SparseLUError("sparse LU: UMFPACK symbolic analysis failed, status \(status1)\(SparseLU.meaning(status1))") }
        // status 1 (UMFPACK_WARNING_singular_matrix): a factorisation exists but U has a zero pivot
        guard status2 == 0 else { throw SparseLUError("sparse LU: UMFPACK numeric factorisation failed, status \(status2)\(SparseLU.meaning(status2))") }
    }

    deinit {
        if numeric != nil {
            if wideIntWork != nil, let wide = library.wide { wide.freeNumeric(&numeric) } else { library.freeNumeric(&numeric) }
        }
        wideIntWork?.deallocate()
        intWork.deallocate()
        work.deallocate()
    }

    static func meaning(_ status: Int32) -> String {
        switch status {
        case 1: " (the matrix is singular)"
        case -1: " (out of memory)"
        default: ""
        }
    }

    /// Solves A x = b; `x` and `b` hold n values and must not overlap. No allocation.
    func solve(_ b: UnsafePointer<Double>, into x: UnsafeMutablePointer<Double>) {
        if let wideIntWork, let wide = library.wide {
            let status = wideRowStarts.withUnsafeBufferPointer { p in
                wideColumns.withUnsafeBufferPointer { i in
                    values.withUnsafeBufferPointer { a in
                        control.withUnsafeBufferPointer { c in
                            wide.wsolve(Int(SparseLU.systemTransposed), p.baseAddress, i.baseAddress, a.baseAddress, x, b,
                                        numeric, c.baseAddress, nil, wideIntWork, work)
                        }
                    }
                }
            }
            precondition(status == 0, "UMFPACK solve failed with status \(status)")
            return
        }
        let status = rowStarts.withUnsafeBufferPointer { p in
            columns.withUnsafeBufferPointer { i in
                values.withUnsafeBufferPointer { a in
                    control.withUnsafeBufferPointer { c in
                        library.wsolve(SparseLU.systemTransposed, p.baseAddress, i.baseAddress, a.baseAddress, x, b,
                                       numeric, c.baseAddress, nil, intWork, work)
                    }
                }
            }
        }
        // the factorisation succeeded, so only a singular U (excluded in init) could fail here
        precondition(status == 0, "UMFPACK solve failed with status \(status)")
    }

    /// Solves A x = b in place.
    func solve(_ x: inout [Double]) {
        precondition(x.count == n)
        let b = x
        b.withUnsafeBufferPointer { bp in x.withUnsafeMutableBufferPointer { solve(bp.baseAddress!, into: $0.baseAddress!) } }
    }
}

/// Why a sparse factorisation could not be made (library missing, memory, singular matrix).
public struct SparseLUError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
