import Foundation

/// 3-D backward-Kolmogorov references (docs/THEORY.md §1): `Grid3D` on a reflecting box.
extension BackwardKolmogorovReference {
    /// 3-D: the grid solve of `Grid3D` (7-point stencil, diagonal D, `nodes` per side) on the
    /// reflecting `domain`, the exit region absorbing, Richardson-extrapolated over the nested
    /// grids m, (m+1)/2, ((m+1)/2+1)/2 with `Richardson.extrapolate`'s error estimate, as in 2-D.
    /// Affordable: a sparse LU of a 3-D grid costs ∝ N² (nested dissection; `Grid3D`'s measured
    /// 0.8 s at 33³, 6 s at 49³, 27 s at 65³), so the two coarser levels add 1/64 and 1/4096 of the finest
    /// solve. Advection is `.hybrid` (central where the cell Péclet number is ≤ 1). Throws the
    /// `Grid3D` memory refusal before assembling when the finest grid does not fit.
    public init(problem: ExitProblem, form: FokkerPlanckForm, domain: Grid3D.Box, nodes: Int = 33) throws {
        try BackwardKolmogorovReference.check(problem: problem, domain: domain, nodes: nodes)
        let field = try BackwardKolmogorovReference.diffusionField3D(problem)
        let x0 = problem.start
        let exit: Grid3D.Exit = { x, y, z in problem.exitTerm(at: [x, y, z]) != nil }
        func solve(_ n: Int) throws -> (value: Double, rounding: Double) {
            let p = Grid3D.Problem(landscape: problem.landscape, diffusion: field, form: form == .ito ? .ito : .divergence,
                                   advection: .hybrid, box: domain, nx: n, ny: n, nz: n)
            let s = try Grid3D.solveDetailed(p, exit: exit)
            return (s.function(x0[0], x0[1], x0[2]), s.roundingError * s.function.values.reduce(0) { max($0, abs($1)) })
        }
        (time, timeError, self.nodes) = try BackwardKolmogorovReference.extrapolated(nodes: nodes, dynamics: problem.dynamics, solve: solve)
        lower = domain.x0; upper = domain.x1
    }

    /// The 3-D diffusion matrix field `D(θ)` of `NoiseModel` (off-diagonals symmetrised;
    /// `Grid3D` refuses a field where they are non-zero).
    static func diffusionField3D(_ problem: ExitProblem) throws -> Grid3D.DiffusionField {
        let noise = try gaussianNoise(problem)
        if case .finiteSum = noise.law, case .sgdSDE = problem.dynamics {
            throw GridError("3-D backward-kolmogorov with a finite sum: use dynamics \"sgd\" (the SDE's prediction in iterations)")
        }
        if let d = noise.isotropicDiffusion {
            let matrix = Grid3D.Matrix(d11: d, d22: d, d33: d)
            return { _, _, _ in matrix }
        }
        return { x, y, z in Grid3D.Matrix(rowMajor: noise.diffusionMatrix(at: [x, y, z])) }
    }

    /// Throws what `init(problem:form:domain:nodes:)` (3-D) would throw for a reason other than
    /// the solve itself: a non-Gaussian generator, a landscape that is not 3-D, a start outside
    /// the box, a diffusion with off-diagonal entries at the start, a finest grid whose sparse LU
    /// does not fit in memory (`Grid3D.checkMemory`), or a box whose coarsest Richardson grid has
    /// no node in the exit region.
    public static func check(problem: ExitProblem, domain box: Grid3D.Box, nodes: Int) throws {
        guard problem.landscape.dimension == 3 else {
            throw GridError("a 3-D domain box applies to 3-D landscapes, this one is \(problem.landscape.dimension)-D")
        }
        let x0 = problem.start
        guard (box.x0...box.x1).contains(x0[0]), (box.y0...box.y1).contains(x0[1]), (box.z0...box.z1).contains(x0[2]) else {
            throw GridError("the start \(x0) must lie inside the domain box")
        }
        let field = try diffusionField3D(problem)
        let d = field(x0[0], x0[1], x0[2])
        guard d.d12 == 0, d.d13 == 0, d.d23 == 0 else {
            throw GridError("the 3-D grid solves diagonal diffusion only (7-point stencil); at the start D12 = \(d.d12), D13 = \(d.d13), D23 = \(d.d23)")
        }
        let m = nodes | 1
        try Grid3D.checkMemory(nodes: m * m * m)
        let coarsest = ((m + 1) / 2 + 1) / 2
        let h = [(box.x1 - box.x0), (box.y1 - box.y0), (box.z1 - box.z0)].map { $0 / Double(coarsest - 1) }
        for k in 0..<coarsest {
            for j in 0..<coarsest {
                for i in 0..<coarsest
                where problem.exitTerm(at: [box.x0 + Double(i) * h[0], box.y0 + Double(j) * h[1], box.z0 + Double(k) * h[2]]) != nil {
                    return
                }
            }
        }
        throw GridError("no node of the \(coarsest)×\(coarsest)×\(coarsest) grid (the coarsest of the Richardson triple for nodes = \(m)) lies in the exit region [\(box.x0), \(box.x1)]×[\(box.y0), \(box.y1)]×[\(box.z0), \(box.z1)]; enlarge the box to reach the exit region or add nodes")
    }
}
