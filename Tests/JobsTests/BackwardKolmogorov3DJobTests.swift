import Foundation
import Testing
@testable import Jobs
@testable import Diffusion

/// `method = "backward-kolmogorov"` on a 3-D landscape (Grid3D through the spec path).
@Suite struct BackwardKolmogorov3DJobTests {
    static func spec(domain: String, nodes: String = "") -> String {
        """
        name = "bk3d"
        [landscape]
        potential = "x^4/4 - x^2/2 + y^2/2 + z^2/2"
        [start]
        point = [-1.0, 0.0, 0.0]
        [exit]
        when = "x >= 0"
        [[experiment]]
        name = "exact3d"
        dynamics = "langevin"
        method = "backward-kolmogorov"
        epsilon = 0.1
        \(domain)
        \(nodes)
        """
    }

    /// The separable well: the 3-D cell (default 33 nodes per side, Richardson 33, 17, 9) must
    /// meet the 1-D MFPT of x⁴/4 − x²/2 on [−2.5, 0] (quadrature) within its own error estimate.
    @Test func separableWellMatchesOneDimensionalMFPT() throws {
        let spec = try JobSpec.parse(Self.spec(domain: "domain = { lower = [-2.5, -2.0, -2.0], upper = [0.0, 2.0, 2.0] }"))
        let cell = try JobRunner(spec: spec, threads: 1).runCell(experiment: 0, cell: 0)
        let exact = try Grid1D.meanExitTimeQuadrature(try Diffusion1D.constant(landscape: Landscape(expression: "x^4/4 - x^2/2"), epsilon: 0.1),
                                                      start: -1, lower: -2.5, upper: 0, lowerBoundary: .reflecting, upperBoundary: .absorbing)
        #expect(abs(cell.mean! - exact) <= cell.methodError!, "T = \(cell.mean!) ± \(cell.methodError!), exact \(exact)")
    }

    @Test(arguments: [
        ("domain = { lower = [-2.5, -2.0], upper = [0.0, 2.0, 2.0] }", "lower must have 3 numbers"),
        ("domain = { lower = [-2.5, -2.0, -2.0], upper = [0.0, 2.0] }", "upper must have 3 numbers"),
        ("domain = { upper = [0.0, 2.0, 2.0] }", "lower is required for a 3-D landscape"),
        ("", "domain is required for a 3-D backward-kolmogorov solve"),
    ])
    func badDomainsAreClearErrors(domain: String, message: String) {
        do {
            _ = try JobSpec.parse(Self.spec(domain: domain))
            Issue.record("accepted \(domain)")
        } catch {
            #expect("\(error)".contains(message) && !"\(error)".contains("\n"), "\(error)")
        }
    }

    @Test func nodesOutsideTheRangeOrTheMemoryAreRefused() throws {
        let domain = "domain = { lower = [-2.5, -2.0, -2.0], upper = [0.0, 2.0, 2.0] }"
        #expect(throws: SpecError.self) { try JobSpec.parse(Self.spec(domain: domain, nodes: "nodes = 513")) }
        // 129³ = 2.1e6 nodes: estimated ≈ 80 GB, refused before any cell runs, naming the limit
        do {
            let spec = try JobSpec.parse(Self.spec(domain: domain, nodes: "nodes = 129"))
            _ = try JobRunner(spec: spec, threads: 1).runCell(experiment: 0, cell: 0)
            Issue.record("129³ nodes were not refused")
        } catch {
            #expect("\(error)".contains("2146689 nodes") && "\(error)".contains("nodes fit"), "\(error)")
        }
    }
}
