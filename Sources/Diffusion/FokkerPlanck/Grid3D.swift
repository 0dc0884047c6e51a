import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The mean exit time on a uniform grid over a box (docs/THEORY.md §1): `𝓛T = −1`, `T = 0`
/// where the exit predicate holds, for `dX = −∇V dt + √(2D(X)) dW` in three dimensions with
/// `D` a **diagonal** positive field (D₁₁, D₂₂, D₃₃ functions of the point).
///
/// **Generator.** `Grid2D.Form.ito`: `𝓛f = Σᵢ Dᵢᵢ ∂ᵢ²f − ∇V·∇f`; `.divergence`:
/// `𝓛f = ∇·(D∇f) − ∇V·∇f`, the Itô stencil with the extra drift `∂ᵢDᵢᵢ` by central
/// differences of `D` (step h; second order), as in `Grid2D`.
///
/// **Discretisation.** The 7-point stencil: second-order central differences in each
/// direction. A diffusion matrix with a non-zero off-diagonal entry is refused
/// (`GridError`, naming the point and the entries): the mixed derivatives would need a
/// 19-point positive-type stencil, which is not implemented. Advection is central where the
/// cell Péclet number `|bᵢ|hᵢ/(2Dᵢᵢ)` is ≤ 1 (then `−𝓛_h` is a diagonally dominant
/// M-matrix); elsewhere `Advection.central` throws and `Advection.hybrid` upwinds that node
/// and direction (first order; counted in `Grid3DSolution.upwindedNodes`) — `Grid2D`'s rule.
///
/// **Boundaries.** As `Grid2D`: exit nodes are absorbing; between an interior node and an
/// absorbing neighbour the boundary point is bisected along the segment (fraction θ) and the
/// neighbour replaced by the linear extrapolation through it, `f_ghost = g/θ + f_c(1 − 1/θ)`
/// (Gibou et al., J. Comput. Phys. 176, 2002; `GridSystem.boundaryFraction`): second order
/// for exit sets not aligned with the grid. The box's faces reflect, `∂ₙf = 0`, by mirrored
/// ghost nodes (`f₋₁ = f₁`), except where absorbing.
///
/// **Solver.** `−𝓛_h` on the non-absorbing nodes in compressed rows (≤ 7 entries a row),
/// factorised by UMFPACK's 64-bit-index family (`SparseLU.IndexWidth.int64`: the 32-bit one
/// allocates below 2³¹ bytes at once, and 65³ failed there) and solved with `GridSystem.solve`'s
/// difference-form iterative refinement (the rounding estimate is
/// `Grid3DSolution.roundingError`; a solve that does not refine below √ε_mach throws).
///
/// **Memory.** A sparse LU of a 3-D grid fills in far more than a 2-D one (nested-dissection
/// separators are planes of N^(2/3) nodes: fill ∝ N^(4/3), work ∝ N²; George & Liu 1981).
/// The factorisation therefore uses METIS nested-dissection ordering (half AMD's memory and time
/// here). Before assembling, `estimatedFactorBytes` (a fit of the measured memory) is compared
/// with `memoryBound`, half the physical memory, and the solve refuses with a `GridError` naming
/// the node count, the estimate and the largest grid that fits, rather than be killed for memory.
public enum Grid3D {
    /// The box `[x0, x1] × [y0, y1] × [z0, z1]`.
    public struct Box: Sendable, Equatable {
        public var x0, x1, y0, y1, z0, z1: Double
        public init(x0: Double, x1: Double, y0: Double, y1: Double, z0: Double, z1: Double) {
            self.x0 = x0; self.x1 = x1; self.y0 = y0; self.y1 = y1; self.z0 = z0; self.z1 = z1
        }
    }

    /// A symmetric 3×3 diffusion matrix at a point. Only diagonal matrices can be solved; the
    /// off-diagonal entries are carried so that a field that has them is refused, not truncated.
    public struct Matrix: Sendable, Equatable {
        public var d11, d22, d33, d12, d13, d23: Double
        public init(d11: Double, d22: Double, d33: Double, d12: Double = 0, d13: Double = 0, d23: Double = 0) {
            self.d11 = d11; self.d22 = d22; self.d33 = d33; self.d12 = d12; self.d13 = d13; self.d23 = d23
        }
        /// Row-major 3×3 entries (`NoiseModel.diffusionMatrix`), off-diagonals symmetrised.
        init(rowMajor m: [Double]) {
            self.init(d11: m[0], d22: m[4], d33: m[8], d12: 0.5 * (m[1] + m[3]), d13: 0.5 * (m[2] + m[6]),
                      d23: 0.5 * (m[5] + m[7]))
        }
    }

    public typealias DiffusionField = @Sendable (Double, Double, Double) -> Matrix
    public typealias Exit = (Double, Double, Double) -> Bool

    public struct Problem: Sendable {
        /// A three-dimensional landscape `V`; only its gradient is used.
        public var landscape: Landscape
        public var diffusion: DiffusionField
        public var form: Grid2D.Form
        public var advection: Grid2D.Advection
        public var box: Box
        /// Nodes per side, including both faces (hₓ = (x1 − x0)/(nx − 1)).
        public var nx, ny, nz: Int

        public init(landscape: Landscape, diffusion: @escaping DiffusionField, form: Grid2D.Form = .ito,
                    advection: Grid2D.Advection = .central, box: Box, nx: Int, ny: Int, nz: Int) {
            self.landscape = landscape
            self.diffusion = diffusion
            self.form = form
            self.advection = advection
            self.box = box
            self.nx = nx; self.ny = ny; self.nz = nz
        }

        /// Constant diagonal diffusion (isotropic: `d11 = d22 = d33 = ε`).
        public init(landscape: Landscape, d11: Double, d22: Double, d33: Double, advection: Grid2D.Advection = .central,
                    box: Box, nx: Int, ny: Int, nz: Int) {
            let d = Matrix(d11: d11, d22: d22, d33: d33)
            self.init(landscape: landscape, diffusion: { _, _, _ in d }, advection: advection, box: box, nx: nx, ny: ny, nz: nz)
        }

        public var hx: Double { (box.x1 - box.x0) / Double(nx - 1) }
        public var hy: Double { (box.y1 - box.y0) / Double(ny - 1) }
        public var hz: Double { (box.z1 - box.z0) / Double(nz - 1) }
        public func x(_ i: Int) -> Double { i == nx - 1 ? box.x1 : box.x0 + Double(i) * hx }
        public func y(_ j: Int) -> Double { j == ny - 1 ? box.y1 : box.y0 + Double(j) * hy }
        public func z(_ k: Int) -> Double { k == nz - 1 ? box.z1 : box.z0 + Double(k) * hz }
    }

    // MARK: - Memory

    /// Physical memory in bytes (`sysconf(_SC_PHYS_PAGES) · sysconf(_SC_PAGESIZE)`).
    public static let physicalMemory: Double = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))

    /// The most bytes a factorisation may be estimated to take: half the physical memory (the
    /// rest is the process's other data, other cells' threads and the system).
    public static var memoryBound: Double { physicalMemory / 2 }

    /// Bytes the process grows by to factorise a grid of `nodes` nodes, from measurements on
    /// cubic grids of the 7-point operator (separable double well, isotropic D = 0.1, `.hybrid`;
    /// UMFPACK 5.7, 64-bit indices, METIS ordering). UMFPACK's own peak (symbolic + numeric,
    /// `SparseLU.peakBytes`): 33³: 0.146 GB, 41³: 0.373 GB, 49³: 0.784 GB, 57³: 1.56 GB,
    /// 65³: 2.62 GB; least squares in log–log, peak ≈ 46.1·N^1.427 bytes, every point within 3 %
    /// (nested dissection's fill ∝ N^(4/3) plus fronts of N^(2/3)·N^(2/3)). The resident set grew
    /// by 1.33×, 1.50× and 1.50× the fit at 49³, 57³ and 65³ (METIS's and the assembly's memory,
    /// which UMFPACK does not count), so the estimate is 1.6 × the fit. Checked beyond the fit at
    /// 73³ (3.9·10⁵ nodes): peak 4.00 GB against the fit's 4.38 GB, resident growth 6.63 GB
    /// against the estimate's 7.0 GB. Time (one core of the shared 2-core Xeon, release): 0.8 s at
    /// 33³, 6–7 s at 49³, 13.5 s at 57³, 27 s at 65³, 80 s at 73³.
    /// AMD (UMFPACK's default, `Grid2D`'s ordering) took 1.8× the memory and 2× the time at 49³.
    public static func estimatedFactorBytes(nodes: Int) -> Double {
        residentFactor * factorCoefficient * pow(Double(nodes), factorExponent)
    }
    static let factorCoefficient = 46.1, factorExponent = 1.427, residentFactor = 1.6

    /// The largest node count whose `estimatedFactorBytes` is within `bound`.
    public static func largestNodes(within bound: Double) -> Int {
        Int(pow(bound / (residentFactor * factorCoefficient), 1 / factorExponent).rounded(.down))
    }

    /// Throws when the factorisation of a grid of `nodes` nodes is estimated above `bound` bytes.
    public static func checkMemory(nodes: Int, bound: Double = memoryBound) throws(GridError) {
        let estimate = estimatedFactorBytes(nodes: nodes)
        guard estimate <= bound else {
            let largest = largestNodes(within: bound)
            let side = Int(pow(Double(largest), 1.0 / 3).rounded(.down))
            let why = bound == memoryBound ? "half the physical memory" : "the given bound"
            throw GridError("Grid3D: \(nodes) nodes need an estimated \(gigabytes(estimate)) for the sparse LU, above the bound \(gigabytes(bound)) (\(why)); at most \(largest) nodes fit (a \(side)×\(side)×\(side) grid)")
        }
    }

    static func gigabytes(_ bytes: Double) -> String { String(format: "%.3g GB", bytes / 1e9) }

    // MARK: - Solves

    /// Mean exit time `T` (`𝓛T = −1`, `T = 0` where `exit` holds), in the SDE's time unit.
    public static func meanExitTime(_ p: Problem, exit: Exit) throws -> GridFunction3D {
        try solveDetailed(p, exit: exit).function
    }

    /// The mean exit time with what the assembly and the solve did. `memoryBound`: the most
    /// bytes the factorisation may be estimated to take (tests pass a tiny one).
    public static func solveDetailed(_ p: Problem, exit: Exit, memoryBound bound: Double = Grid3D.memoryBound) throws -> Grid3DSolution {
        try checkMemory(nodes: p.nx * p.ny * p.nz, bound: bound)
        let system = try assemble(p, exit: exit)
        let (values, rounding) = system.nodeValues()
        guard rounding <= GridSystem.acceptedRounding else {
            throw GridError("Grid3D: iterative refinement did not converge (last relative correction \(rounding), more than √ε_mach): the exit time T is too long for double precision on this grid (a factorised solve's relative error is ≈ 1e-16·(12D/h²)·T); use a coarser grid, or method = \"splitting\"")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let (i, j, k) = (bad % p.nx, (bad / p.nx) % p.ny, bad / (p.nx * p.ny))
            throw GridError("Grid3D: the solve gave \(values[bad]) at the node (\(p.x(i)), \(p.y(j)), \(p.z(k))); the discrete operator is not an M-matrix or the factorisation broke down")
        }
        return Grid3DSolution(function: GridFunction3D(box: p.box, nx: p.nx, ny: p.ny, nz: p.nz, values: values),
                              upwindedNodes: system.upwinded, absorbingNodes: system.absorbingCount,
                              roundingError: rounding, peakBytes: system.lu.peakBytes)
    }

    // MARK: - Assembly

    /// `−𝓛_h` on the non-absorbing nodes (node (i, j, k) at (k·ny + j)·nx + i), factorised,
    /// right-hand side 1, in `GridSystem`'s difference form.
    static func assemble(_ p: Problem, exit: Exit) throws -> GridSystem {
        let landscape = p.landscape
        guard landscape.dimension == 3 else { throw GridError("Grid3D: the landscape must be three-dimensional, got \(landscape.dimension)-D") }
        guard p.nx >= 3, p.ny >= 3, p.nz >= 3, p.box.x1 > p.box.x0, p.box.y1 > p.box.y0, p.box.z1 > p.box.z0 else {
            throw GridError("Grid3D: need nx, ny, nz ≥ 3 and a non-empty box, got \(p.nx)×\(p.ny)×\(p.nz) nodes on \(p.box)")
        }
        let nx = p.nx, ny = p.ny, nz = p.nz, hx = p.hx, hy = p.hy, hz = p.hz
        let nodes = nx * ny * nz
        guard nodes < Int(Int32.max) else { throw GridError("Grid3D: \(nodes) nodes exceed UMFPACK's 32-bit indices") }
        var unknown = [Int32](repeating: -1, count: nodes)
        var m = 0
        for k in 0..<nz {
            for j in 0..<ny {
                for i in 0..<nx where !exit(p.x(i), p.y(j), p.z(k)) {
                    unknown[(k * ny + j) * nx + i] = Int32(m)
                    m += 1
                }
            }
        }
        guard m < nodes else { throw GridError("Grid3D: no grid node satisfies the exit predicate, so the exit time is infinite (refine the grid or move the box)") }
        guard m > 0 else { throw GridError("Grid3D: every grid node is absorbing") }
        var rowStarts = [Int32](repeating: 0, count: m + 1)
        var columns = [Int32](), entries = [Double]()
        columns.reserveCapacity(7 * m)
        entries.reserveCapacity(7 * m)
        var rhs = [Double](repeating: 0, count: m), leak = rhs
        var upwinded = 0
        // gradients of one x-line at a time by the landscape's block evaluation (no allocation per node)
        let registers = landscape.registerCount
        var points = [Double](repeating: 0, count: 3 * nx), gradients = points
        var workspace = [Double](repeating: 0, count: registers * nx), scratch = [Double](repeating: 0, count: 6)
        for i in 0..<nx { points[i] = p.x(i) }
        // neighbour offsets −x, +x, −y, +y, −z, +z and their stencil weights
        let offsets = [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)]
        var weights = [Double](repeating: 0, count: 6)

        for k in 0..<nz {
            for j in 0..<ny {
                let y = p.y(j), z = p.z(k)
                for i in 0..<nx { points[nx + i] = y; points[2 * nx + i] = z }
                points.withUnsafeBufferPointer { input in
                    gradients.withUnsafeMutableBufferPointer { output in
                        workspace.withUnsafeMutableBufferPointer { w in
                            scratch.withUnsafeMutableBufferPointer { s in
                                landscape.gradient(count: nx, stride: nx, inputs: input.baseAddress!, outputs: output.baseAddress!,
                                                   workspace: w.baseAddress!, scratch: s.baseAddress!)
                            }
                        }
                    }
                }
                for i in 0..<nx {
                    let row = Int(unknown[(k * ny + j) * nx + i])
                    if row < 0 { continue }
                    let x = points[i]
                    let d = p.diffusion(x, y, z)
                    guard d.d12 == 0, d.d13 == 0, d.d23 == 0 else {
                        throw GridError("Grid3D: the diffusion matrix at (\(x), \(y), \(z)) has off-diagonal entries D12 = \(d.d12), D13 = \(d.d13), D23 = \(d.d23); the 7-point stencil solves diagonal diffusion only (a mixed-derivative stencil is not implemented)")
                    }
                    guard d.d11 > 0, d.d22 > 0, d.d33 > 0, d.d11.isFinite, d.d22.isFinite, d.d33.isFinite else {
                        throw GridError("Grid3D: the diffusion matrix diag(\(d.d11), \(d.d22), \(d.d33)) at (\(x), \(y), \(z)) is not positive definite; make such points absorbing or move the box")
                    }
                    var b = (-gradients[i], -gradients[nx + i], -gradients[2 * nx + i])
                    if p.form == .divergence {
                        b.0 += (p.diffusion(x + hx, y, z).d11 - p.diffusion(x - hx, y, z).d11) / (2 * hx)
                        b.1 += (p.diffusion(x, y + hy, z).d22 - p.diffusion(x, y - hy, z).d22) / (2 * hy)
                        b.2 += (p.diffusion(x, y, z + hz).d33 - p.diffusion(x, y, z - hz).d33) / (2 * hz)
                    }
                    var upwindHere = false
                    // weights of the −/+ neighbours along one axis: central if Péclet ≤ 1, else upwind (hybrid) or throw
                    func axis(_ a: Int, drift: Double, diffusion: Double, h: Double) throws {
                        let c = diffusion / (h * h)
                        let peclet = abs(drift) / (2 * h * c)
                        if peclet <= 1 {
                            weights[2 * a + 1] = c + drift / (2 * h); weights[2 * a] = c - drift / (2 * h)
                        } else if p.advection == .hybrid {
                            weights[2 * a + 1] = c + max(drift, 0) / h; weights[2 * a] = c + max(-drift, 0) / h
                            upwindHere = true
                        } else {
                            throw GridError("Grid3D: cell Péclet number \(peclet) > 1 in \(a == 0 ? "x" : a == 1 ? "y" : "z") at (\(x), \(y), \(z)) with h = \(h): the central scheme is not monotone there; use a finer grid (h below \(h / peclet)), a smaller box, or Advection.hybrid")
                        }
                    }
                    try axis(0, drift: b.0, diffusion: d.d11, h: hx)
                    try axis(1, drift: b.1, diffusion: d.d22, h: hy)
                    try axis(2, drift: b.2, diffusion: d.d33, h: hz)
                    if upwindHere { upwinded += 1 }
                    // 𝓛_h f = Σ c_n (f_n − f_c); row of A = −𝓛_h, rhs = 1
                    var diagonal = 0.0, rowLeak = 0.0
                    let rowStart = columns.count
                    for (n, (di, dj, dk)) in offsets.enumerated() {
                        let c = weights[n]
                        if c == 0 { continue }
                        diagonal += c
                        // mirror across reflecting faces
                        var ii = i + di, jj = j + dj, kk = k + dk
                        if ii < 0 { ii = 1 } else if ii >= nx { ii = nx - 2 }
                        if jj < 0 { jj = 1 } else if jj >= ny { jj = ny - 2 }
                        if kk < 0 { kk = 1 } else if kk >= nz { kk = nz - 2 }
                        let col = unknown[(kk * ny + jj) * nx + ii]
                        if col < 0 {
                            let xn = p.x(ii), yn = p.y(jj), zn = p.z(kk)
                            let theta = GridSystem.boundaryFraction { t in exit(x + t * (xn - x), y + t * (yn - y), z + t * (zn - z)) }
                            // f_ghost = 0/θ + f_c(1 − 1/θ): the exit time is 0 on the boundary
                            diagonal -= c * (1 - 1 / theta)
                            rowLeak += c / theta
                        } else {
                            GridSystem.add(-c, column: col, row: rowStart, columns: &columns, entries: &entries)
                        }
                    }
                    guard diagonal > 0, diagonal.isFinite else {
                        throw GridError("Grid3D: non-positive diagonal at the node (\(x), \(y), \(z)); the discrete operator is not an M-matrix")
                    }
                    columns.append(Int32(row)); entries.append(diagonal)
                    GridSystem.sortRow(from: rowStart, columns: &columns, entries: &entries)
                    rhs[row] = 1
                    leak[row] = rowLeak
                    rowStarts[row + 1] = Int32(columns.count)
                }
            }
        }
        let lu: SparseLU
        // UMFPACK's own refinement would use the rounded diagonal: GridSystem.solve refines instead
        do { lu = try SparseLU(n: m, rowStarts: rowStarts, columns: columns, values: entries, refinementSteps: 0,
                                     ordering: .metis, indexWidth: .int64) }
        catch { throw GridError("Grid3D: \(error.message)") }
        return GridSystem(lu: lu, rhs: rhs, unknown: unknown, boundary: [Double](repeating: 0, count: nodes), upwinded: upwinded,
                          absorbingCount: nodes - m, rowStarts: rowStarts, columns: columns, entries: entries, leak: leak)
    }
}

/// A 3-D grid solution with what the assembly and the factorisation did.
public struct Grid3DSolution: Sendable {
    public let function: GridFunction3D
    /// Interior nodes where `Advection.hybrid` upwinded at least one direction.
    public let upwindedNodes: Int
    public let absorbingNodes: Int
    /// Estimated relative rounding error of the values (‖·‖∞), from the last step of the
    /// solve's iterative refinement (`GridSystem.solve`); ≤ √ε_mach or the solve throws.
    public let roundingError: Double
    /// UMFPACK's peak memory for the factorisation (symbolic + numeric), bytes.
    public let peakBytes: Double
}

/// Values on the nodes of a uniform grid over `box`, node (i, j, k) at
/// `values[(k·ny + j)·nx + i]`, evaluated anywhere by **trilinear** interpolation (clamped to
/// the box): monotone, and its O(h²) error matches the solver's.
public struct GridFunction3D: Sendable {
    public let box: Grid3D.Box
    public let nx, ny, nz: Int
    public let values: [Double]

    public init(box: Grid3D.Box, nx: Int, ny: Int, nz: Int, values: [Double]) {
        precondition(values.count == nx * ny * nz && nx >= 2 && ny >= 2 && nz >= 2)
        self.box = box; self.nx = nx; self.ny = ny; self.nz = nz; self.values = values
    }

    public subscript(i: Int, j: Int, k: Int) -> Double { values[(k * ny + j) * nx + i] }

    public func callAsFunction(_ x: Double, _ y: Double, _ z: Double) -> Double {
        func cell(_ v: Double, _ lo: Double, _ hi: Double, _ n: Int) -> (Int, Double) {
            let u = min(max((v - lo) / (hi - lo), 0), 1) * Double(n - 1)
            let i = min(Int(u), n - 2)
            return (i, u - Double(i))
        }
        let (i, s) = cell(x, box.x0, box.x1, nx), (j, t) = cell(y, box.y0, box.y1, ny), (k, r) = cell(z, box.z0, box.z1, nz)
        func plane(_ k: Int) -> Double {
            let f00 = self[i, j, k], f10 = self[i + 1, j, k], f01 = self[i, j + 1, k], f11 = self[i + 1, j + 1, k]
            return (1 - t) * ((1 - s) * f00 + s * f10) + t * ((1 - s) * f01 + s * f11)
        }
        return (1 - r) * plane(k) + r * plane(k + 1)
    }
}
