/// What makes a backward-Kolmogorov solve impossible before any grid is assembled: checked
/// for every cell of a job before its first cell runs.
extension BackwardKolmogorovReference {
    /// Throws what `init(problem:form:nodes:)` (1-D, `domain` nil) or
    /// `init(problem:form:domain:nodes:)` (2-D) would throw for a reason other than the
    /// solve itself: a non-Gaussian generator, a 1-D exit that is not `x > b` / `x < a`, an
    /// unconfined open side, a start outside the exits or the box, or — 2-D — a box whose
    /// coarsest Richardson grid ((n+3)/4 nodes per side) has no node in the exit region.
    public static func check(problem: ExitProblem, domain: Grid2D.Box?, nodes: Int) throws {
        let x0 = problem.start
        guard let box = domain else {
            guard problem.landscape.dimension == 1 else {
                throw GridError("needs domain = { lower = [...], upper = [...] } in \(problem.landscape.dimension)-D")
            }
            let diffusion = try BackwardKolmogorovReference.diffusion(problem)
            let (lower, upper) = try TheoryReference.boundaries(problem)
            guard lower != nil || upper != nil else { throw GridError("needs an exit boundary") }
            let temperature = max(diffusion(x0[0]), diffusion(lower ?? x0[0]), diffusion(upper ?? x0[0]), 1e-12)
            let lo = try lower ?? problem.truncation(direction: -1, temperature: temperature)
            let hi = try upper ?? problem.truncation(direction: 1, temperature: temperature)
            guard lo < x0[0], x0[0] < hi else { throw GridError("the start must lie strictly inside the exit boundaries") }
            _ = try BackwardKolmogorovReference.checkDiffusion(problem, diffusion, lower: lo, upper: hi, nodes: nodes | 1,
                                                               oneSided: (lower == nil) != (upper == nil))
            return
        }
        guard problem.landscape.dimension == 2 else { throw GridError("a domain box applies to 2-D landscapes") }
        guard (box.x0...box.x1).contains(x0[0]), (box.y0...box.y1).contains(x0[1]) else {
            throw GridError("the start \(x0) must lie inside the domain box")
        }
        _ = try BackwardKolmogorovReference.diffusionField(problem)
        let m = nodes | 1
        let coarsest = ((m + 1) / 2 + 1) / 2
        let hx = (box.x1 - box.x0) / Double(coarsest - 1), hy = (box.y1 - box.y0) / Double(coarsest - 1)
        // a user-given Σ₁ must be a covariance on the box (checked at the coarsest grid's nodes)
        if case .covariance(let matrix)? = problem.dynamics.noiseLaw {
            for i in 0..<coarsest {
                for j in 0..<coarsest {
                    if let why = matrix.violation(at: [box.x0 + Double(i) * hx, box.y0 + Double(j) * hy]) {
                        throw GridError("\(why): the backward-Kolmogorov grid needs Σ₁ positive definite on the domain box")
                    }
                }
            }
        }
        for i in 0..<coarsest {
            for j in 0..<coarsest where problem.exitTerm(at: [box.x0 + Double(i) * hx, box.y0 + Double(j) * hy]) != nil {
                return
            }
        }
        throw GridError("no node of the \(coarsest)×\(coarsest) grid (the coarsest of the Richardson triple for nodes = \(m)) lies in the exit region [\(box.x0), \(box.x1)]×[\(box.y0), \(box.y1)]; enlarge the box to reach the exit region or add nodes")
    }
}
