import Foundation
import Testing
import TestSupport
@testable import Jobs
@testable import Diffusion

/// `theory = "stability"` (issue 12, item 7): every stable interval of the almost-sure
/// criterion, B > n with replacement, no placeholder learning rate, the Lyapunov exponent at
/// η, Wu–Wang–Su's minimal alignment at a zero-loss minimum, and matching to Monte Carlo
/// cells by batch size and sampling.
@Suite struct StabilityJobTests {
    static let curvatures = Array(repeating: 0.1, count: 8) + [1, 5]

    static func lambda(_ eta: Double, _ a: [Double]) -> Double { a.reduce(0) { $0 + log(abs(1 - eta * $1)) } / Double(a.count) }

    /// Curvatures [0.1 ×8, 1, 5], B = 1 (the example): Λ(η) = E log|1 − ηa| is
    /// negative on (0, 1.5728) and again on (3.9399, 14.2546); the cell reports both intervals
    /// (each end a root of Λ to bisection precision, Λ < 0 inside and > 0 between), with no
    /// learning rate given. SGD at η = 4.4, in the second interval, converges on every path:
    /// log|e_k| is a random walk with steps log|1 − ηa_I|, drift Λ(4.4) < 0; Lundberg bounds
    /// P(ever beyond the divergence bound 1e300) by e^{−θu}, θ the root of E|1−ηa|^θ = 1, and
    /// Chernoff P(|e_N| ≥ 1e-100) by min_t E|1−ηa|^{tN}·e^{230.3t}; both, over 400 paths, are
    /// checked < 1e-6, so all 400 end inside `abs(x) < 1e-100`.
    @Test func almostSureStableIntervals() throws {
        let a = Self.curvatures
        let text = """
        name = "intervals"
        seed = 7
        [landscape]
        builtin = "quadratic-sums"
        curvatures = \(a)
        [start]
        point = [1.0]
        [exit]
        when = "abs(x) < 1e-100"
        [[experiment]]
        name = "stability"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        [[experiment]]
        name = "at-4.4"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        learning_rate = 4.4
        [[experiment]]
        name = "sgd"
        dynamics = "sgd"
        method = "convergence"
        learning_rate = 4.4
        steps = 60000
        paths = 400
        divergence_bound = 1e300
        """
        let cells = try JobRunner(spec: try JobSpec.parse(text), threads: 2).run()
        let theory = cells[0]
        #expect(theory.parameters.map(\.key) == ["batch_size"] && theory.status == .done)
        #expect(theory.quantity("almost_sure_stable_intervals") == 2 && theory.quantity("lyapunov_exponent") == nil)
        let ends = try (1...2).map { k in
            (try #require(theory.quantity("almost_sure_interval_\(k)_lower")), try #require(theory.quantity("almost_sure_interval_\(k)_upper")))
        }
        print("almost-sure stable intervals: \(ends)")
        #expect(ends[0].0 == 0 && theory.quantity("almost_sure_max_learning_rate") == ends[0].1)
        for (k, end) in [ends[0].1, ends[1].0, ends[1].1].enumerated() {
            // bisection to adjacent doubles: |Λ| ≤ |Λ'|·ulp(η)·(a few) ≪ 1e-10
            #expect(abs(Self.lambda(end, a)) < 1e-10, "end \(k): Λ(\(end)) = \(Self.lambda(end, a))")
        }
        #expect(Self.lambda(0.5 * (ends[0].1 + ends[1].0), a) > 0 && Self.lambda(0.5 * (ends[1].0 + ends[1].1), a) < 0)
        #expect(Self.lambda(0.5 * (ends[1].1 + 20), a) > 0)
        // the rounded ends, 1.573 and (3.94, 14.26), to the 0.01 they were printed to
        #expect(abs(ends[0].1 - 1.573) < 0.01 && abs(ends[1].0 - 3.94) < 0.01 && abs(ends[1].1 - 14.26) < 0.01)

        let at = cells[1], eta = 4.4
        let exponent = try #require(at.quantity("lyapunov_exponent"))
        #expect(abs(exponent - Self.lambda(eta, a)) <= 1e-14 && exponent < 0)

        func moment(_ t: Double) -> Double { a.reduce(0) { $0 + pow(abs(1 - eta * $1), t) } / Double(a.count) }
        var lo = 1e-9, hi = 1.0
        while moment(hi) < 1 { hi *= 2 }
        for _ in 0..<200 { let mid = 0.5 * (lo + hi); if moment(mid) < 1 { lo = mid } else { hi = mid } }
        let escape = 400 * exp(-lo * log(1e300))
        let chernoff = 400 * exp((1...2000).map { Double($0) * 2.5e-4 }.map { 60000 * log(moment($0)) - log(1e-100) * $0 }.min()!)
        #expect(escape < 1e-6 && chernoff < 1e-6, "Lundberg \(escape), Chernoff \(chernoff)")
        let sgd = cells[2]
        #expect(sgd.exited == 400 && sgd.diverged == 0, "converged \(sgd.exited), diverged \(sgd.diverged) of 400")
    }

    /// With replacement, B > n is SGD on B i.i.d. draws (c_B = 1/B): the 1-D mean-square
    /// threshold is 2ā/(ā² + σ²/B); without replacement B > n is refused by name.
    @Test func batchLargerThanTheSamplesWithReplacement() throws {
        let a = [0.5, 1, 2, 4, 8.0]
        func job(_ replacement: Bool) -> String {
            """
            name = "large-batch"
            [landscape]
            builtin = "quadratic-sums"
            curvatures = \(a)
            [start]
            point = [1.0]
            [exit]
            when = "x > 1e10"
            [[experiment]]
            name = "stability"
            dynamics = "sgd"
            method = "theory"
            theory = "stability"
            batch_size = [1, 8, 32]
            replacement = \(replacement)
            """
        }
        let cells = try JobRunner(spec: try JobSpec.parse(job(true)), threads: 1).run()
        let mean = a.reduce(0, +) / 5, variance = a.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 5
        for (cell, b) in zip(cells, [1.0, 8, 32]) {
            let ms = try #require(cell.quantity("mean_square_max_learning_rate"))
            #expect(abs(ms - 2 * mean / (mean * mean + variance / b)) <= 1e-14 * ms, "B = \(b): \(ms)")
            #expect(cell.status == .done && cell.quantity("almost_sure_max_learning_rate") != nil)
        }
        var message = ""
        do { _ = try JobSpec.parse(job(false)) } catch { message = error.message }
        #expect(message.contains("experiment[1].batch_size") && message.contains("sampling without replacement needs B ≤ n = 5, got 8"), "\(message)")
    }

    /// Wu–Wang–Su at a zero-loss minimum (noise-free linear regression, n = 30, d = 2): μ_min
    /// is the least of μ(e) = Tr(Σ(θ*+e)G)/(2L(θ*+e)‖G‖²_F) over directions e — exact at any
    /// distance for a linear model. A scan of 720 directions never goes below μ_min (1e-9
    /// relative: rounding) and comes within (μ_max − μ_min)·κ(G)·(Δφ/2)² of it (the Rayleigh
    /// quotient's quadratic error in the whitened angle, which is at most √κ times the
    /// angle step). In 1-D μ_min = (E a⁴ − (E a²)²)/(E a²)², direction-free.
    @Test func zeroLossMinimalAlignment() throws {
        let text = """
        name = "zero-loss"
        [landscape]
        builtin = "linear-regression"
        samples = 30
        dimension = 2
        noise = 0
        [start]
        at = "least-squares minimizer"
        [exit]
        loss_above = 1
        [[experiment]]
        name = "stability"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        batch_size = 2
        """
        let spec = try JobSpec.parse(text)
        let cell = try JobRunner(spec: spec, threads: 1).run()[0]
        let mu = try #require(cell.quantity("wu_wang_su_min_alignment"))
        #expect(cell.quantity("wu_wang_su_alignment") == nil)
        let sum = try #require(spec.first.landscape.finiteSum)
        let theta = spec.first.start
        let g = sum.localGeometry(at: theta)
        #expect(g.loss < LocalGeometry.alignmentLossFloor)
        let eta = try #require(cell.quantity("wu_wang_su_max_learning_rate"))
        #expect(abs(eta - (2 / mu).squareRoot() / g.hessianFrobeniusNorm) <= 1e-14 * eta)
        var values: [Double] = []
        for k in 0..<720 {
            let phi = Double(k) * .pi / 720
            let q = sum.localGeometry(at: [theta[0] + 0.1 * cos(phi), theta[1] + 0.1 * sin(phi)])
            values.append(q.noiseCurvatureTrace / (2 * q.loss * q.gaussNewtonFrobeniusNorm * q.gaussNewtonFrobeniusNorm))
        }
        let eigen = try TheoryNumerics.symmetricEigenvalues(spec.first.landscape.hessian(at: theta), dimension: 2)
        let kappa = eigen[1] / eigen[0]
        let (low, high) = (values.min()!, values.max()!)
        let step = Double.pi / 720
        print("μ_min \(mu), scanned [\(low), \(high)], κ(G) \(kappa)")
        #expect(low >= mu * (1 - 1e-9) && low - mu <= (high - mu) * kappa * step * step / 4 + 1e-12 * mu)

        let oneD = try JobSpec.parse(text.replacingOccurrences(of: "dimension = 2", with: "dimension = 1"))
        let oneCell = try JobRunner(spec: oneD, threads: 1).run()[0]
        let regression = try #require(oneD.first.landscape.finiteSum as? LinearRegression)
        let a2 = regression.features.reduce(0) { $0 + $1 * $1 } / 30, a4 = regression.features.reduce(0) { $0 + pow($1, 4) } / 30
        let expected = (a4 - a2 * a2) / (a2 * a2)
        let measured = try #require(oneCell.quantity("wu_wang_su_min_alignment"))
        #expect(abs(measured - expected) <= 1e-12 * expected, "μ_min \(measured), closed form \(expected)")
    }
}
