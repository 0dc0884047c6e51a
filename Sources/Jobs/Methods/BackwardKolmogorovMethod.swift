import Diffusion

/// `method = "backward-kolmogorov"`: the exact mean exit time of the diffusion (langevin, or
/// the SDE of sgd / sgd-sde) by a second-order grid solve of 𝓛T = −1, Richardson-extrapolated
/// over three nested grids with its error estimate (`BackwardKolmogorovReference`,
/// docs/THEORY.md §1). 1-D on the exit interval (open sides truncated where the diffusion never
/// goes), or 2-D / 3-D on a reflecting `domain` box (3-D: diagonal diffusion, grids that fit in
/// memory; `Grid3D`). Gaussian noise only: Lévy generators are non-local.
public struct BackwardKolmogorovMethod: ExperimentMethod {
    /// The quantity holding the probability of leaving an interval through its upper end (the
    /// committor at the start; 1-D grids with an exit on both sides).
    public static let upperSplittingProbabilityKey = "splitting_probability_upper"
    public static let name = "backward-kolmogorov"
    /// Not `sgld`: the reference of that discrete chain is `chain` (1-D) or Monte Carlo.
    public static let dynamics: [DynamicsKind]? = DynamicsKind.continuousFamilies
    public static let kind = MethodKind.exact
    public static let summary = "exact mean exit time of the diffusion (grid solve of the backward equation, 1-D, 2-D or 3-D)"
    public static let keys = ["fokker_planck", "nodes", "domain"]
    public static let simulationKeysNotApplicable = "a deterministic result for the continuous dynamics"

    public let form: FokkerPlanckForm
    public let nodes: Int
    /// 2-D: the reflecting box of the grid.
    public let domain: Grid2D.Box?
    /// 3-D: the reflecting box of the grid.
    public let domain3D: Grid3D.Box?

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {
        let form = try r.string("fokker_planck", allowed: FokkerPlanckForm.allCases.map(\.rawValue)) ?? FokkerPlanckForm.ito.rawValue
        self.form = FokkerPlanckForm(rawValue: form)!
        let twoD = landscape.dimension == 2
        if landscape.dimension == 3 {
            // 33 per side: 0.8 s for the finest of the Richardson triple (Grid3D's measurements);
            // the upper end is refused by Grid3D's memory estimate where it does not fit
            let nodes = try r.integer("nodes") ?? 33
            guard (11...129).contains(nodes) else { throw r.error("nodes", "must be in 11...129 for a 3-D grid (nodes per side, memory permitting), got \(nodes)") }
            self.nodes = nodes
            guard let box = try Self.domain3D(&r) else {
                throw r.error("domain", "is required for a 3-D \(Self.name) solve: domain = { lower = [x0, y0, z0], upper = [x1, y1, z1] } (reflecting box)")
            }
            self.domain = nil
            self.domain3D = box
            return
        }
        domain3D = nil
        let nodes = try r.integer("nodes") ?? (twoD ? 257 : 4001)
        let range = twoD ? 11...2049 : 11...1_000_001
        guard range.contains(nodes) else { throw r.error("nodes", "must be in \(range.lowerBound)...\(range.upperBound), got \(nodes)") }
        self.nodes = nodes
        if let box = try Self.domain(&r, landscape: landscape) {
            self.domain = box
        } else {
            guard !twoD else { throw r.error("domain", "is required for a 2-D \(Self.name) solve: domain = { lower = [x0, y0], upper = [x1, y1] } (reflecting box)") }
            guard landscape.dimension == 1 else { throw r.error("method", "\(Self.quoted) is implemented for 1-D, 2-D and 3-D landscapes, this one is \(landscape.dimension)-D") }
            self.domain = nil
        }
    }

    /// The `domain = { lower = [x0, y0], upper = [x1, y1] }` box of a 2-D grid (nil: absent).
    static func domain(_ r: inout TableReader, landscape: Landscape) throws(SpecError) -> Grid2D.Box? {
        guard var box = try r.table("domain") else { return nil }
        guard landscape.dimension == 2 else { throw r.error("domain", "applies to 2-D landscapes only (1-D truncates open sides itself)") }
        guard let lo = try box.vector("lower"), lo.count == 2 else { throw box.error("lower", "is required: [x0, y0]") }
        guard let hi = try box.vector("upper"), hi.count == 2 else { throw box.error("upper", "is required: [x1, y1]") }
        guard lo[0] < hi[0], lo[1] < hi[1] else { throw box.error("upper", "must exceed lower in both coordinates, got \(lo) and \(hi)") }
        try box.rejectUnknown(allowed: ["lower", "upper"])
        return Grid2D.Box(x0: lo[0], x1: hi[0], y0: lo[1], y1: hi[1])
    }

    /// The `domain = { lower = [x0, y0, z0], upper = [x1, y1, z1] }` box of a 3-D grid (nil: absent).
    static func domain3D(_ r: inout TableReader) throws(SpecError) -> Grid3D.Box? {
        guard var box = try r.table("domain") else { return nil }
        var corners: [[Double]] = []
        for key in ["lower", "upper"] {
            guard let v = try box.vector(key) else { throw box.error(key, "is required for a 3-D landscape: three numbers [\(key == "lower" ? "x0, y0, z0" : "x1, y1, z1")]") }
            guard v.count == 3 else { throw box.error(key, "must have 3 numbers for a 3-D landscape ([\(key == "lower" ? "x0, y0, z0" : "x1, y1, z1")]), got \(v.count): \(v)") }
            corners.append(v)
        }
        let lo = corners[0], hi = corners[1]
        guard lo[0] < hi[0], lo[1] < hi[1], lo[2] < hi[2] else { throw box.error("upper", "must exceed lower in all three coordinates, got \(lo) and \(hi)") }
        try box.rejectUnknown(allowed: ["lower", "upper"])
        return Grid3D.Box(x0: lo[0], x1: hi[0], y0: lo[1], y1: hi[1], z0: lo[2], z1: hi[2])
    }

    public mutating func finish(_ r: inout TableReader, _ x: inout ExperimentDraft) throws(SpecError) {
        if x.dynamics == .levy || x.noiseLaw == .alphaStable {
            throw r.error("method", "\(Self.quoted) needs Gaussian noise; \(x.dynamics == .levy ? "levy dynamics have" : "alpha-stable noise has") a non-local generator (use monte-carlo, or theory)")
        }
    }

    public func check(_ cell: MethodCell) throws(SpecError) {
        do {
            if let domain3D { try BackwardKolmogorovReference.check(problem: cell.problem, domain: domain3D, nodes: nodes) }
            else { try BackwardKolmogorovReference.check(problem: cell.problem, domain: domain, nodes: nodes) }
        } catch { throw cell.error(domain == nil && domain3D == nil ? "method" : "domain", "\(Self.quoted): \(error)") }
    }

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        let reference: BackwardKolmogorovReference
        if let domain3D {
            reference = try BackwardKolmogorovReference(problem: cell.problem, form: form, domain: domain3D, nodes: nodes)
        } else if let domain {
            reference = try BackwardKolmogorovReference(problem: cell.problem, form: form, domain: domain, nodes: nodes)
        } else {
            reference = try BackwardKolmogorovReference(problem: cell.problem, form: form, nodes: nodes)
        }
        try CellFailure.requireResolved(reference.time, error: reference.timeError, what: "the grid solve")
        var quantities: [(String, Double)] = []
        if let rate = reference.escapeRate { quantities.append(("escape_rate", rate)) }
        if let q = reference.splittingUpper { quantities.append((Self.upperSplittingProbabilityKey, q)) }
        let grid = domain3D.map { "the box [\($0.x0), \($0.x1)]×[\($0.y0), \($0.y1)]×[\($0.z0), \($0.z1)] with \(reference.nodes)³ nodes (7-point stencil)" }
            ?? domain.map { "the box [\($0.x0), \($0.x1)]×[\($0.y0), \($0.y1)] with \(reference.nodes)² nodes" }
            ?? (reference.adapted
                ? "[\(reference.lower), \(reference.upper)] with \(reference.nodes) non-uniform nodes (equidistributing 1/L + |drift|/(2D) + 8√(max|drift'|/D): the uniform grid would need a cell Péclet number < 1 on its coarsest level)"
                : "[\(reference.lower), \(reference.upper)] with \(reference.nodes) nodes")
        var estimator = "exact diffusion (\(form.rawValue) Fokker–Planck form): second-order grid solve of 𝓛T = −1 on \(grid), Richardson-extrapolated"
        if let jumps = reference.jumps {
            estimator = "exact diffusion (\(form.rawValue) Fokker–Planck form): D jumps at x ≈ \(jumps.map { String(format: "%.6g", $0) }.joined(separator: ", ")), so the MFPT formula T = ∫s'∫m (scale and speed densities; no D') by nested GSL quadrature on [\(reference.lower), \(reference.upper)], relative error budget 1e-10"
        }
        return MethodOutput(
            estimate: ExitTimeEstimate(exact: reference.time,
                                       estimator: estimator,
                                       termCount: cell.problem.exitTerms.count),
            methodError: reference.timeError, quantities: quantities)
    }
}
