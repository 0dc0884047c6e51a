import Foundation
import Testing
import TestSupport
@testable import Reporting
@testable import Diffusion

@Suite struct ScalingFitTests {
    /// Noise-free points: the fit returns the line exactly (to rounding).
    @Test func exactLine() throws {
        let x = [1.0, 2, 4, 8], y = x.map { 0.5 + 0.25 * $0 }
        let fit = try LinearFit(x: x, y: y, standardErrors: [0.1, 0.1, 0.2, 0.3])
        #expect(abs(fit.slope - 0.25) < 1e-14 && abs(fit.intercept - 0.5) < 1e-14)
        #expect(fit.chiSquared < 1e-20 && !fit.inflated)
    }

    /// Coverage: data from log τ = a + S·x with Gaussian noise of known size; the 95 % slope
    /// interval must cover S in 90–99 % of 400 repetitions (binomial: 0.95 ± 5·0.011).
    @Test(arguments: [1, 2])
    func slopeIntervalCoverage(seed: Int) throws {
        let stream = RandomStream(key: StreamKey(seed: UInt64(seed), experiment: 77))
        let x = [4.0, 6, 8, 10, 12], a = 1.0, s = 0.25
        var covered = 0
        let repetitions = 400
        for _ in 0..<repetitions {
            let relative = x.map { _ in 0.03 }  // SE/τ
            let taus = zip(x, relative).map { exp(a + s * $0.0 + $0.1 * stream.normal()) }
            let fit = try ScalingFit.arrhenius(x: x, meanTimes: taus, standardErrors: zip(taus, relative).map { $0.0 * $0.1 })
            let ci = fit.slopeCI95
            if ci[0] <= s && s <= ci[1] { covered += 1 }
        }
        let rate = Double(covered) / Double(repetitions)
        #expect(rate >= 0.90 && rate <= 0.99, "coverage \(rate)")
    }

    @Test func badInputIsAnError() {
        #expect(throws: FitError.self) { try LinearFit(x: [1, 2], y: [1, 2], standardErrors: [1, 1]) }
        #expect(throws: FitError.self) { try LinearFit(x: [1, 1, 1], y: [1, 2, 3], standardErrors: [1, 1, 1]) }
        #expect(throws: FitError.self) { try ScalingFit.arrhenius(x: [1, 2, 3], meanTimes: [1, -2, 3], standardErrors: [1, 1, 1]) }
    }
}
