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
/// **Solver.** Direct banded LU without pivoting (`Grid2DBandLU`), unknowns numbered along the
/// shorter side (half-bandwidth min(nx, ny) + 1), blocked by 4 pivots. Measured (release, one
/// core, SSE2 code on this project's Xeon): factorisation of 257×257 (66 049 unknowns) 0.68 s,
/// 129×129 0.05 s (stand-alone kernel); a whole `meanExitTime` — assembly, factorisation, solve —
/// 0.90 s at 257×257, 0.08 s at 129×129, 0.27 s at 1281×81; GSL `gsl_linalg_LU_band_decomp` needs 3.17 s for 257×257 (it pivots and
/// stores a wider band), and unpreconditioned GMRES converges poorly on metastable problems
/// (condition number ~ 8D/h² · T). A direct factorisation also serves the inverse iteration
/// of `principalEigenvalue` at one triangular solve per step. Memory: n·(2·bw + 7) doubles
/// (≈ 280 MB at 257×257).
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
    /// the same LU factorisation, to relative change 1e-13 (at most 500 steps).
    public static func principalEigenvalue(_ p: Problem, exit: @Sendable (Double, Double) -> Bool) throws -> Double {
        let system = try assemble(p, exit: exit, data: { _, _ in 0 }, source: 0)
        var v = system.absorbing.map { $0 ? 0.0 : 1.0 }
        var lambda = 0.0
        for _ in 0..<500 {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { throw Grid2DError.noInterior }
            for k in v.indices { v[k] /= norm }
            system.lu.solve(&v)
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

    struct System {
        let lu: Grid2DBandLU
        let rhs: [Double]
        let absorbing: [Bool]
        let order: Ordering
        let upwinded: Int
    }

    /// Unknown numbering: along the shorter side first.
    struct Ordering {
        let nx, ny: Int
        let xFast: Bool
        init(nx: Int, ny: Int) { self.nx = nx; self.ny = ny; xFast = nx <= ny }
        @inline(__always) func index(_ i: Int, _ j: Int) -> Int { xFast ? j * nx + i : i * ny + j }
        var bandwidth: Int { (xFast ? nx : ny) + 1 }
    }

    static func solve(_ p: Problem, exit: (Double, Double) -> Bool, data: (Double, Double) throws -> Double,
                      source: Double) throws -> Grid2DSolution {
        let system = try assemble(p, exit: exit, data: data, source: source)
        var x = system.rhs
        system.lu.solve(&x)
        var values = [Double](repeating: 0, count: p.nx * p.ny)
        for j in 0..<p.ny { for i in 0..<p.nx { values[j * p.nx + i] = x[system.order.index(i, j)] } }
        return Grid2DSolution(function: GridFunction2D(box: p.box, nx: p.nx, ny: p.ny, values: values),
                              upwindedNodes: system.upwinded,
                              absorbingNodes: system.absorbing.reduce(0) { $0 + ($1 ? 1 : 0) })
    }

    static func assemble(_ p: Problem, exit: (Double, Double) -> Bool, data: (Double, Double) throws -> Double,
                         source: Double) throws -> System {
        guard p.landscape.dimension == 2 else { throw Grid2DError.invalid("the landscape must be two-dimensional") }
        guard p.nx >= 3, p.ny >= 3, p.box.x1 > p.box.x0, p.box.y1 > p.box.y0 else {
            throw Grid2DError.invalid("need nx, ny ≥ 3 and a non-empty box")
        }
        let nx = p.nx, ny = p.ny, hx = p.hx, hy = p.hy
        let order = Ordering(nx: nx, ny: ny)
        let n = nx * ny
        let lu = Grid2DBandLU(n: n, bandwidth: order.bandwidth)
        var rhs = [Double](repeating: 0, count: n)
        var absorbing = [Bool](repeating: false, count: n)
        for j in 0..<ny { for i in 0..<nx { absorbing[order.index(i, j)] = exit(p.x(i), p.y(j)) } }
        guard absorbing.contains(true) else { throw Grid2DError.noAbsorbingNodes }
        guard absorbing.contains(false) else { throw Grid2DError.noInterior }
        var upwinded = 0
        var coefficients = [Double](repeating: 0, count: 9)  // offsets (di, dj) ∈ {−1,0,1}², index (dj+1)*3 + di+1

        for j in 0..<ny {
            for i in 0..<nx {
                let row = order.index(i, j)
                let x = p.x(i), y = p.y(j)
                if absorbing[row] {
                    lu.add(row, row, 1)
                    rhs[row] = try data(x, y)
                    continue
                }
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
                var diagonal = 0.0
                var b = source
                for dj in -1...1 {
                    for di in -1...1 where di != 0 || dj != 0 {
                        let c = coefficients[(dj + 1) * 3 + di + 1]
                        if c == 0 { continue }
                        diagonal += c
                        // mirror across reflecting edges
                        var ii = i + di, jj = j + dj
                        if ii < 0 { ii = 1 } else if ii >= nx { ii = nx - 2 }
                        if jj < 0 { jj = 1 } else if jj >= ny { jj = ny - 2 }
                        let col = order.index(ii, jj)
                        if absorbing[col] {
                            let xn = p.x(ii), yn = p.y(jj)
                            let theta = boundaryFraction(from: (x, y), to: (xn, yn), exit: exit)
                            let value = try data(xn, yn)
                            // f_ghost = value/θ + f_c(1 − 1/θ)
                            diagonal -= c * (1 - 1 / theta)
                            b += c * value / theta
                        } else {
                            lu.add(row, col, -c)
                        }
                    }
                }
                lu.add(row, row, diagonal)
                rhs[row] = b
            }
        }
        if let bad = lu.factor() {
            let i = order.xFast ? bad % nx : bad / ny, j = order.xFast ? bad / nx : bad % ny
            throw Grid2DError.singular(x: p.x(i), y: p.y(j))
        }
        return System(lu: lu, rhs: rhs, absorbing: absorbing, order: order, upwinded: upwinded)
    }

    /// Fraction θ ∈ (0, 1] of the segment from an interior point to an absorbing one at which
    /// the exit predicate first holds (bisection, 2⁻⁴⁰ resolution; floored at 1e-9).
    static func boundaryFraction(from a: (Double, Double), to b: (Double, Double),
                                 exit: (Double, Double) -> Bool) -> Double {
        var lo = 0.0, hi = 1.0
        for _ in 0..<40 {
            let mid = 0.5 * (lo + hi)
            if exit(a.0 + mid * (b.0 - a.0), a.1 + mid * (b.1 - a.1)) { hi = mid } else { lo = mid }
        }
        return max(hi, 1e-9)
    }
}

/// A grid solution with what the assembly did.
public struct Grid2DSolution: Sendable {
    public let function: GridFunction2D
    /// Interior nodes where `Advection.hybrid` upwinded at least one direction.
    public let upwindedNodes: Int
    public let absorbingNodes: Int
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
        case let .singular(x, y): "Grid2D: non-positive pivot at the node (\(x), \(y)); the discrete operator is not an M-matrix"
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
