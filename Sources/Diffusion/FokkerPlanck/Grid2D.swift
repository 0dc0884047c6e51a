import Foundation

/// Backward-Kolmogorov solves on a uniform grid over a rectangle (docs/THEORY.md §1): mean exit
/// time `𝓛T = −1`, committor `𝓛u = 0`, principal eigenvalue of `−𝓛`, for
/// `dX = −∇V dt + √(2D(X)) dW` with `D` a 2×2 symmetric positive-(semi)definite field.
///
/// **Generator.** `Form.ito`: `𝓛f = Σᵢⱼ Dᵢⱼ ∂ᵢ∂ⱼf − ∇V·∇f` (what the SDE gives).
/// `Form.divergence`: `𝓛f = ∇·(D∇f) − ∇V·∇f`, implemented as the Itô stencil with the extra
/// drift `(∇·D)ⱼ = Σᵢ ∂ᵢDᵢⱼ` taken by central differences of `D` (step h; second order).
///
/// **Discretisation.** Second-order central differences. The mixed term `2D₁₂∂ₓ∂ᵧf` uses the
/// positive-type 9-point stencil (corners along the sign of D₁₂:
/// `∂ₓ∂ᵧf ≈ ±[f(±h,h) + f(∓h,−h) + 2f − f(±h,0) − f(∓h,0) − f(0,h) − f(0,−h)]/(2hₓhᵧ)`), which
/// keeps all off-diagonal weights of `𝓛_h` non-negative when `D₁₁hᵧ/hₓ ≥ |D₁₂|` and
/// `D₂₂hₓ/hᵧ ≥ |D₁₂|` (checked; `Grid2DError.crossDiffusion` otherwise). The advection is
/// central where the cell Péclet number `|bₓ|hₓ / (2(D₁₁ − |D₁₂|hₓ/hᵧ))` (likewise in y) is
/// ≤ 1 — then `−𝓛_h` is a diagonally dominant M-matrix; elsewhere `Advection.central`
/// throws `Grid2DError.peclet` (use a finer grid) and `Advection.hybrid` switches that node
/// and direction to first-order upwinding (only harmless where the density is negligible,
/// e.g. box corners far up a steep potential; `Grid2DSolution.upwindedNodes` counts them).
///
/// **Boundaries.** Nodes where the exit predicate holds are absorbing (T = 0; committor data
/// 0 on `a`, 1 on `b`). The boundary between an interior node and an absorbing stencil
/// neighbour is located by bisecting the predicate along the segment joining them (fraction
/// θ ∈ (0, 1]), and the neighbour's value is replaced by the linear extrapolation through the
/// boundary point, `f_ghost = g/θ + f_c(1 − 1/θ)` (Gibou et al., J. Comput. Phys. 176, 2002):
/// second order for exit sets not aligned with the grid, and it only strengthens the
/// diagonal. The rectangle's edges are reflecting, `∂ₙf = 0`, by mirrored ghost nodes
/// (`f₋₁ = f₁`), except where absorbing.
///
/// **Solver.** `−𝓛_h` on the non-absorbing nodes (absorbing ones are Dirichlet data, not
/// unknowns), assembled directly in compressed rows (≤ 9 entries a row, mirrored neighbours
/// merged), factorised once by SuiteSparse UMFPACK (`SparseLU`: multifrontal LU, AMD ordering
/// of A + Aᵀ, diagonal pivots preferred; Davis, ACM TOMS 30, 2004), then iterative refinement
/// with residuals in the difference form `Σcᵢⱼ(fᵢ − fⱼ) + leakᵢfᵢ` (`GridSystem.solve`): metastable
/// problems have condition ≈ (8D/h²)·T, and a plain solve's relative error ε_mach·(8D/h²)·T
/// reached 3e-5 at 513² with T ≈ 10⁶ (the band LU this replaces: 26 % at T ≈ 10¹⁰, and a
/// negative mean, −8.0e9, in the Ibayashi cell B = 20 at 513²); a solve whose
/// refinement does not contract below √ε_mach throws `Grid2DError.illConditioned`, and
/// `Grid2DSolution.roundingError` is the estimate. `principalEigenvalue` reuses the one
/// factorisation for every inverse-iteration step. Measured (release, one core of this
/// project's shared 2-core Xeon under load; Benchmarks/README.md): a whole `meanExitTime` —
/// assembly, ordering, factorisation, refined solve — 0.14–0.23 s at 257×257 (the banded LU
/// it replaces took 0.90 s; SciPy's SuperLU `spsolve` on the same system 0.21 s), 8–11 s at
/// 1025×1025. Memory: UMFPACK's peak 42 MB at 257² (3.7·10⁶ factor entries), 0.91 GB at
/// 1025² (9.2·10⁷ entries), against the band LU's n·(2·bw + 7) doubles (280 MB at 257²,
/// 17 GB at 1025²).
public enum Grid2D {
    /// Which second-order operator the diffusion matrix enters (docs/THEORY.md §0).
    public enum Form: String, Sendable {
        /// `Σᵢⱼ Dᵢⱼ ∂ᵢ∂ⱼ f` (Itô; the SDE's own generator).
        case ito
        /// `∇·(D∇f)` (Xie et al.'s form).
        case divergence
    }

    /// Advection differencing; see the type's documentation.
    public enum Advection: String, Sendable {
        /// Central everywhere; throws `Grid2DError.peclet` where the cell Péclet number exceeds 1.
        case central
        /// Central where the cell Péclet number is ≤ 1, first-order upwind elsewhere.
        case hybrid
    }

    /// The rectangle `[x0, x1] × [y0, y1]`.
    public struct Box: Sendable, Equatable {
        public var x0, x1, y0, y1: Double
        public init(x0: Double, x1: Double, y0: Double, y1: Double) {
            self.x0 = x0; self.x1 = x1; self.y0 = y0; self.y1 = y1
        }
    }

    /// Diffusion matrix entries (D₁₁, D₁₂, D₂₂) at a point.
    public typealias DiffusionField = @Sendable ([Double]) -> (d11: Double, d12: Double, d22: Double)

    public struct Problem: Sendable {
        /// A two-dimensional landscape `V`; only its gradient is used.
        public var landscape: Landscape
        public var diffusion: DiffusionField
        public var form: Form
        public var advection: Advection
        public var box: Box
        /// Nodes per side, including both edges (hₓ = (x1 − x0)/(nx − 1)).
        public var nx: Int
        public var ny: Int

        public init(landscape: Landscape, diffusion: @escaping DiffusionField, form: Form = .ito,
                    advection: Advection = .central, box: Box, nx: Int, ny: Int) {
            self.landscape = landscape
            self.diffusion = diffusion
            self.form = form
            self.advection = advection
            self.box = box
            self.nx = nx
            self.ny = ny
        }

        /// Constant diffusion matrix (isotropic: `d11 = d22 = ε`, `d12 = 0`).
        public init(landscape: Landscape, d11: Double, d12: Double = 0, d22: Double,
                    advection: Advection = .central, box: Box, nx: Int, ny: Int) {
            self.init(landscape: landscape, diffusion: { _ in (d11, d12, d22) }, form: .ito,
                      advection: advection, box: box, nx: nx, ny: ny)
        }

        /// The SGD diffusion approximation of a finite sum (docs/THEORY.md §0):
        /// `D(θ) = (η/2)·Σ_B(θ)`, `Σ_B = c_B·Σ`, `Σ` the per-sample gradient covariance and
        /// `c_B` the minibatch factor (`NoiseModel.diffusionMatrix`). `D` is singular
        /// wherever all per-sample gradients agree (e.g. a shared minimiser); such nodes must
        /// be absorbing or the solve throws `Grid2DError.notPositiveDefinite`.
        public init(finiteSumLandscape landscape: Landscape, learningRate eta: Double, batchSize b: Int,
                    withReplacement: Bool = true, form: Form = .ito, advection: Advection = .central,
                    box: Box, nx: Int, ny: Int) {
            precondition(landscape.finiteSum != nil && landscape.dimension == 2, "needs a 2-D finite-sum landscape")
            let noise: NoiseModel
            do {
                noise = try NoiseModel(dynamics: .sgdSDE(learningRate: eta, batchSize: b, noise: .finiteSum, withReplacement: withReplacement),
                                       landscape: landscape)
            } catch { preconditionFailure(error.message) }
            self.init(landscape: landscape, diffusion: Grid2D.field(noise), form: form, advection: advection,
                      box: box, nx: nx, ny: ny)
        }

        public var hx: Double { (box.x1 - box.x0) / Double(nx - 1) }
        public var hy: Double { (box.y1 - box.y0) / Double(ny - 1) }
        public func x(_ i: Int) -> Double { i == nx - 1 ? box.x1 : box.x0 + Double(i) * hx }
        public func y(_ j: Int) -> Double { j == ny - 1 ? box.y1 : box.y0 + Double(j) * hy }
    }

    /// The field of `noise.diffusionMatrix` on a 2-D landscape, D₁₂ the mean of the two
    /// off-diagonal entries.
    static func field(_ noise: NoiseModel) -> DiffusionField {
        precondition(noise.landscape.dimension == 2 && noise.hasDiffusion)
        return { point in
            let m = noise.diffusionMatrix(at: point)
            return (m[0], 0.5 * (m[1] + m[2]), m[3])
        }
    }

    /// Mean exit time `T` (`𝓛T = −1`, `T = 0` where `exit` holds), in the SDE's time unit.
    public static func meanExitTime(_ p: Problem, exit: @Sendable (Double, Double) -> Bool) throws -> GridFunction2D {
        try solve(p, exit: exit, data: { _, _ in 0 }, source: 1).function
    }

    /// `P(hit b before a)`: `𝓛u = 0`, `u = 0` on `a`, `u = 1` on `b` (the sets must not overlap at a node).
    public static func committor(_ p: Problem, a: @Sendable (Double, Double) -> Bool,
                                 b: @Sendable (Double, Double) -> Bool) throws -> GridFunction2D {
        try solve(p, exit: { x, y in a(x, y) || b(x, y) }, data: { x, y in
            let inA = a(x, y), inB = b(x, y)
            if inA && inB { throw Grid2DError.overlappingSets(x: x, y: y) }
            return inB ? 1 : 0
        }, source: 0).function
    }

    /// Smallest eigenvalue λ₁ of `−𝓛_h` with absorbing `exit` (the exit rate of the
    /// quasi-stationary distribution, `1/λ₁` its mean exit time), by inverse iteration with
    /// one sparse LU factorisation and one pair of triangular solves per step, to relative
    /// change 1e-13 (at most 500 steps).
    public static func principalEigenvalue(_ p: Problem, exit: @Sendable (Double, Double) -> Bool) throws -> Double {
        let system = try assemble(p, exit: exit, data: { _, _ in 0 }, source: 0)
        let m = system.lu.n
        var v = [Double](repeating: 1, count: m), w = v, work = v, correction = v
        var lambda = 0.0
        for _ in 0..<500 {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0, norm.isFinite else { throw Grid2DError.noInterior }
            for k in v.indices { v[k] /= norm }
            let rounding = v.withUnsafeBufferPointer { b in
                w.withUnsafeMutableBufferPointer { x in
                    work.withUnsafeMutableBufferPointer { r in
                        correction.withUnsafeMutableBufferPointer { c in
                            system.solve(b.baseAddress!, into: x.baseAddress!, work: r.baseAddress!, correction: c.baseAddress!)
                        }
                    }
                }
            }
            guard rounding <= GridSystem.acceptedRounding else { throw Grid2DError.illConditioned(correction: rounding) }
            swap(&v, &w)
            let grown = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let next = 1 / grown
            if abs(next - lambda) <= 1e-13 * abs(next) { return next }
            lambda = next
        }
        return lambda
    }

    /// Solves with the factorisation and reports what the assembly did.
    public static func solveDetailed(_ p: Problem, exit: @Sendable (Double, Double) -> Bool) throws -> Grid2DSolution {
        try solve(p, exit: exit, data: { _, _ in 0 }, source: 1)
    }

    // MARK: - Assembly

    static func solve(_ p: Problem, exit: (Double, Double) -> Bool, data: (Double, Double) throws -> Double,
                      source: Double) throws -> Grid2DSolution {
        let system = try assemble(p, exit: exit, data: data, source: source)
        let (values, rounding) = system.nodeValues()
        guard rounding <= GridSystem.acceptedRounding else { throw Grid2DError.illConditioned(correction: rounding) }
        // an M-matrix has a non-negative inverse: a non-finite value means the solve broke down
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw Grid2DError.notFinite(x: p.x(bad % p.nx), y: p.y(bad / p.nx), value: values[bad])
        }
        return Grid2DSolution(function: GridFunction2D(box: p.box, nx: p.nx, ny: p.ny, values: values),
                              upwindedNodes: system.upwinded, absorbingNodes: system.absorbingCount,
                              roundingError: rounding)
    }

    static func assemble(_ p: Problem, exit: (Double, Double) -> Bool, data: (Double, Double) throws -> Double,
                         source: Double) throws -> GridSystem {
        guard p.landscape.dimension == 2 else { throw Grid2DError.invalid("the landscape must be two-dimensional") }
        guard p.nx >= 3, p.ny >= 3, p.box.x1 > p.box.x0, p.box.y1 > p.box.y0 else {
            throw Grid2DError.invalid("need nx, ny ≥ 3 and a non-empty box")
        }
        let nx = p.nx, ny = p.ny, hx = p.hx, hy = p.hy
        let nodes = nx * ny
        var unknown = [Int32](repeating: -1, count: nodes)
        var boundary = [Double](repeating: 0, count: nodes)
        var m = 0
        for j in 0..<ny {
            for i in 0..<nx where !exit(p.x(i), p.y(j)) {
                unknown[j * nx + i] = Int32(m)
                m += 1
            }
        }
        guard m < nodes else { throw Grid2DError.noAbsorbingNodes }
        guard m > 0 else { throw Grid2DError.noInterior }
        for node in 0..<nodes where unknown[node] < 0 { boundary[node] = try data(p.x(node % nx), p.y(node / nx)) }
        // compressed rows: at most 9 entries per row (mirrored neighbours at the edges merge)
        var rowStarts = [Int32](repeating: 0, count: m + 1)
        var columns = [Int32](), entries = [Double]()
        columns.reserveCapacity(9 * m)
        entries.reserveCapacity(9 * m)
        var rhs = [Double](repeating: 0, count: m), leak = rhs
        var upwinded = 0
        var coefficients = [Double](repeating: 0, count: 9)  // offsets (di, dj) ∈ {−1,0,1}², index (dj+1)*3 + di+1

        for j in 0..<ny {
            for i in 0..<nx {
                let row = Int(unknown[j * nx + i])
                if row < 0 { continue }
                let x = p.x(i), y = p.y(j)
                let d = p.diffusion([x, y])
                guard d.d11 > 0, d.d22 > 0, d.d11 * d.d22 - d.d12 * d.d12 >= -1e-12 * d.d11 * d.d22,
                      d.d11.isFinite, d.d22.isFinite, d.d12.isFinite else {
                    throw Grid2DError.notPositiveDefinite(x: x, y: y, d11: d.d11, d12: d.d12, d22: d.d22)
                }
                let g = p.landscape.gradient(at: [x, y])
                var bx = -g[0], by = -g[1]
                if p.form == .divergence {
                    let e = p.diffusion([x + hx, y]), w = p.diffusion([x - hx, y])
                    let nn = p.diffusion([x, y + hy]), s = p.diffusion([x, y - hy])
                    bx += (e.d11 - w.d11) / (2 * hx) + (nn.d12 - s.d12) / (2 * hy)
                    by += (e.d12 - w.d12) / (2 * hx) + (nn.d22 - s.d22) / (2 * hy)
                }
                let cross = abs(d.d12) / (hx * hy)
                let diffX = d.d11 / (hx * hx) - cross, diffY = d.d22 / (hy * hy) - cross
                guard diffX >= -1e-12 * d.d11 / (hx * hx), diffY >= -1e-12 * d.d22 / (hy * hy) else {
                    throw Grid2DError.crossDiffusion(x: x, y: y, d11: d.d11, d12: d.d12, d22: d.d22, hx: hx, hy: hy)
                }
                let dx = max(diffX, 0), dy = max(diffY, 0)
                for k in 0..<9 { coefficients[k] = 0 }
                // x advection
                let pecletX = abs(bx) / (2 * hx * dx), pecletY = abs(by) / (2 * hy * dy)
                var upwindHere = false
                if pecletX <= 1 {
                    coefficients[5] += dx + bx / (2 * hx); coefficients[3] += dx - bx / (2 * hx)
                } else if p.advection == .hybrid {
                    coefficients[5] += dx + max(bx, 0) / hx; coefficients[3] += dx + max(-bx, 0) / hx
                    upwindHere = true
                } else {
                    throw Grid2DError.peclet(x: x, y: y, peclet: pecletX, direction: "x", h: hx)
                }
                if pecletY <= 1 {
                    coefficients[7] += dy + by / (2 * hy); coefficients[1] += dy - by / (2 * hy)
                } else if p.advection == .hybrid {
                    coefficients[7] += dy + max(by, 0) / hy; coefficients[1] += dy + max(-by, 0) / hy
                    upwindHere = true
                } else {
                    throw Grid2DError.peclet(x: x, y: y, peclet: pecletY, direction: "y", h: hy)
                }
                if upwindHere { upwinded += 1 }
                if d.d12 > 0 { coefficients[8] += cross; coefficients[0] += cross }
                else if d.d12 < 0 { coefficients[6] += cross; coefficients[2] += cross }
                // 𝓛_h f = Σ c_k (f_k − f_c); row of A = −𝓛_h, rhs = source
                var diagonal = 0.0, rowLeak = 0.0
                var b = source
                let rowStart = columns.count
                for dj in -1...1 {
                    for di in -1...1 where di != 0 || dj != 0 {
                        let c = coefficients[(dj + 1) * 3 + di + 1]
                        if c == 0 { continue }
                        diagonal += c
                        // mirror across reflecting edges
                        var ii = i + di, jj = j + dj
                        if ii < 0 { ii = 1 } else if ii >= nx { ii = nx - 2 }
                        if jj < 0 { jj = 1 } else if jj >= ny { jj = ny - 2 }
                        let col = unknown[jj * nx + ii]
                        if col < 0 {
                            let xn = p.x(ii), yn = p.y(jj)
                            let theta = GridSystem.boundaryFraction { t in exit(x + t * (xn - x), y + t * (yn - y)) }
                            // f_ghost = value/θ + f_c(1 − 1/θ)
                            diagonal -= c * (1 - 1 / theta)
                            rowLeak += c / theta
                            b += c * boundary[jj * nx + ii] / theta
                        } else {
                            GridSystem.add(-c, column: col, row: rowStart, columns: &columns, entries: &entries)
                        }
                    }
                }
                guard diagonal > 0, diagonal.isFinite else { throw Grid2DError.singular(x: x, y: y) }
                columns.append(Int32(row)); entries.append(diagonal)
                GridSystem.sortRow(from: rowStart, columns: &columns, entries: &entries)
                rhs[row] = b
                leak[row] = rowLeak
                rowStarts[row + 1] = Int32(columns.count)
            }
        }
        let lu: SparseLU
        // UMFPACK's own refinement would use the rounded diagonal: GridSystem.solve refines instead
        do { lu = try SparseLU(n: m, rowStarts: rowStarts, columns: columns, values: entries, refinementSteps: 0) }
        catch { throw Grid2DError.solver(error.message) }
        return GridSystem(lu: lu, rhs: rhs, unknown: unknown, boundary: boundary, upwinded: upwinded, absorbingCount: nodes - m,
                      rowStarts: rowStarts, columns: columns, entries: entries, leak: leak)
    }
}

/// A grid solution with what the assembly did.
public struct Grid2DSolution: Sendable {
    public let function: GridFunction2D
    /// Interior nodes where `Advection.hybrid` upwinded at least one direction.
    public let upwindedNodes: Int
    public let absorbingNodes: Int
    /// Estimated relative rounding error of the values (‖·‖∞), from the last step of the
    /// solve's iterative refinement (`GridSystem.solve`); ≤ √ε_mach or the solve throws.
    public let roundingError: Double
}

public enum Grid2DError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalid(String)
    case noAbsorbingNodes
    case noInterior
    case overlappingSets(x: Double, y: Double)
    case notPositiveDefinite(x: Double, y: Double, d11: Double, d12: Double, d22: Double)
    case crossDiffusion(x: Double, y: Double, d11: Double, d12: Double, d22: Double, hx: Double, hy: Double)
    case peclet(x: Double, y: Double, peclet: Double, direction: String, h: Double)
    case singular(x: Double, y: Double)
    case notFinite(x: Double, y: Double, value: Double)
    case solver(String)
    case illConditioned(correction: Double)

    public var description: String {
        switch self {
        case .invalid(let why): "Grid2D: \(why)"
        case .noAbsorbingNodes: "Grid2D: no grid node satisfies the exit predicate, so the exit time is infinite (refine the grid or move the box)"
        case .noInterior: "Grid2D: every grid node is absorbing"
        case let .overlappingSets(x, y): "Grid2D: committor sets a and b both hold at (\(x), \(y))"
        case let .notPositiveDefinite(x, y, d11, d12, d22):
            "Grid2D: diffusion matrix [[\(d11), \(d12)], [\(d12), \(d22)]] at (\(x), \(y)) is not positive definite; make such points absorbing or move the box"
        case let .crossDiffusion(x, y, d11, d12, d22, hx, hy):
            "Grid2D: at (\(x), \(y)) D = [[\(d11), \(d12)], [\(d12), \(d22)]] is too anisotropic for the positive 9-point stencil with hx = \(hx), hy = \(hy) (need D11·hy/hx ≥ |D12| and D22·hx/hy ≥ |D12|; change the aspect ratio hx/hy)"
        case let .peclet(x, y, peclet, direction, h):
            "Grid2D: cell Péclet number \(peclet) > 1 in \(direction) at (\(x), \(y)) with h = \(h): the central scheme is not monotone there; use a finer grid (h below \(h / peclet)), a smaller box, or Advection.hybrid"
        case let .singular(x, y): "Grid2D: non-positive diagonal at the node (\(x), \(y)); the discrete operator is not an M-matrix"
        case let .notFinite(x, y, value): "Grid2D: the solve gave \(value) at the node (\(x), \(y)); the discrete operator is not an M-matrix or the factorisation broke down"
        case .solver(let why): "Grid2D: \(why)"
        case .illConditioned(let c): "Grid2D: iterative refinement did not converge (last relative correction \(c), more than √ε_mach): the exit time T is too long for double precision on this grid (a factorised solve's relative error is ≈ 1e-16·(8D/h²)·T); use a coarser grid, or method = \"splitting\""
        }
    }
}

/// Values on the nodes of a uniform grid over `box`, node (i, j) at `values[j·nx + i]`,
/// evaluated anywhere by **bilinear** interpolation (clamped to the box). Bilinear is
/// monotone — a committor stays in [0, 1] — and its O(h²) error matches the solver's.
public struct GridFunction2D: Sendable {
    public let box: Grid2D.Box
    public let nx, ny: Int
    public let values: [Double]

    public init(box: Grid2D.Box, nx: Int, ny: Int, values: [Double]) {
        precondition(values.count == nx * ny && nx >= 2 && ny >= 2)
        self.box = box; self.nx = nx; self.ny = ny; self.values = values
    }

    public func x(_ i: Int) -> Double { i == nx - 1 ? box.x1 : box.x0 + Double(i) * (box.x1 - box.x0) / Double(nx - 1) }
    public func y(_ j: Int) -> Double { j == ny - 1 ? box.y1 : box.y0 + Double(j) * (box.y1 - box.y0) / Double(ny - 1) }
    public subscript(i: Int, j: Int) -> Double { values[j * nx + i] }

    public func callAsFunction(_ x: Double, _ y: Double) -> Double {
        let u = min(max((x - box.x0) / (box.x1 - box.x0), 0), 1) * Double(nx - 1)
        let v = min(max((y - box.y0) / (box.y1 - box.y0), 0), 1) * Double(ny - 1)
        let i = min(Int(u), nx - 2), j = min(Int(v), ny - 2)
        let s = u - Double(i), t = v - Double(j)
        let f00 = values[j * nx + i], f10 = values[j * nx + i + 1]
        let f01 = values[(j + 1) * nx + i], f11 = values[(j + 1) * nx + i + 1]
        return (1 - t) * ((1 - s) * f00 + s * f10) + t * ((1 - s) * f01 + s * f11)
    }
}
