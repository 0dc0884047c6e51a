import Foundation
import Testing
import TestSupport
@testable import Jobs
@testable import Diffusion

/// Stationary moments of fixed-horizon runs for any noise law (issue 12, item 7): on the
/// quadratic V = h x²/2 from 0 every scheme is a linear AR(1) chain x ← a·x + noise, whose
/// variance after N steps is exactly v·(1 − a^{2N})/(1 − a²) (v the per-step noise variance)
/// and whose mean is 0 — discrete SGD a = 1 − ηh, v = η²σ²/B (×ν/(ν−2) for Student-t); its
/// SDE by Euler–Maruyama at dt a = 1 − h·dt, v = (ησ²/B)·dt (time t = kη). Each cell's mean
/// and variance lie within 5 SE of these (no bias budget: the references are exact for the
/// schemes), and SGD's stationary variance exceeds the SDE's by 2/(2 − ηh), the finite-η
/// effect one pair of cells now shows.
@Suite struct FixedHorizonMomentsTests {
    @Test func arChainMoments() throws {
        let (h, eta, sigma, nu, b) = (2.0, 0.1, 1.5, 5.0, 2.0)
        let steps = 200, paths = 20000
        let text = """
        name = "moments"
        seed = 9
        [landscape]
        potential = "x^2"
        [start]
        point = [0.0]
        [exit]
        when = "x > 100"
        [[experiment]]
        name = "sgd"
        dynamics = "sgd"
        method = "convergence"
        learning_rate = \(eta)
        batch_size = \(Int(b))
        noise = { law = "gaussian", sigma = \(sigma) }
        steps = \(steps)
        paths = \(paths)
        [[experiment]]
        name = "sgd-t"
        dynamics = "sgd"
        method = "convergence"
        learning_rate = \(eta)
        batch_size = \(Int(b))
        noise = { law = "student-t", sigma = \(sigma), nu = \(nu) }
        steps = \(steps)
        paths = \(paths)
        [[experiment]]
        name = "sde"
        dynamics = "sgd-sde"
        method = "convergence"
        learning_rate = \(eta)
        batch_size = \(Int(b))
        noise = { law = "gaussian", sigma = \(sigma) }
        dt_fraction = 0.1
        steps = \(10 * steps)
        paths = \(paths)
        """
        let cells = try JobRunner(spec: try JobSpec.parse(text), threads: 2).run()
        let dt = 0.1 * eta
        let cases: [(a: Double, v: Double, n: Int)] = [
            (1 - eta * h, eta * eta * sigma * sigma / b, steps),
            (1 - eta * h, eta * eta * sigma * sigma * nu / (nu - 2) / b, steps),
            (1 - h * dt, eta * sigma * sigma / b * dt, 10 * steps),
        ]
        var stationary: [Double] = []
        for (cell, c) in zip(cells, cases) {
            let exact = c.v * (1 - pow(c.a, Double(2 * c.n))) / (1 - c.a * c.a)
            let mean = try #require(cell.quantity("final_mean_x")), meanSE = try #require(cell.quantity("final_mean_x_standard_error"))
            let variance = try #require(cell.quantity("final_variance_x")), varianceSE = try #require(cell.quantity("final_variance_x_standard_error"))
            print("\(cell.experiment): mean \(mean) ± \(meanSE), variance \(variance) ± \(varianceSE), exact \(exact)")
            #expect(abs(mean) <= Statistics.z * meanSE)
            #expect(abs(variance - exact) <= Statistics.z * varianceSE, "\(cell.experiment): \(variance) ± \(varianceSE) vs \(exact)")
            #expect(cell.diverged == 0 && cell.censored == paths)
            stationary.append(variance)
        }
        // discrete vs continuous: ησ²/(Bh(2 − ηh)) against ησ²/(2Bh)·(2/(2 − h·dt)); ratio ≈ 2/(2 − ηh) = 1.11
        print("SGD / SDE stationary variance: \(stationary[0] / stationary[2]), predicted \((2 - h * dt) / (2 - eta * h))")
    }
}
