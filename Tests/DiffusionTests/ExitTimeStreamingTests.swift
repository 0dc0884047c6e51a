import Foundation
import Testing
@testable import Diffusion

/// Chunks streamed in order, and the streamed estimator against the textbook formulas.
@Suite struct ExitTimeStreamingTests {
    static func simulator(maxSteps: Int = 20_000) throws -> EnsembleSimulator {
        let landscape = try Landscape(expression: "x^4/4 - x^2/2 + y^2")
        let problem = try ExitProblem(landscape: landscape, dynamics: .langevin(epsilon: 0.15), dt: 1e-3,
                                      start: [-1, 0], exit: .condition("x > 0 || y > 1"), maxSteps: maxSteps)
        return try EnsembleSimulator(problem: problem, integrator: Integrator(exitTest: .bridge))
    }

    /// Chunks arrive in index order with contiguous paths, and together equal the collected
    /// run, for any thread count (chunk size 100, a ragged last chunk).
    @Test(arguments: [1, 2, 3, 8])
    func chunksArriveInOrder(threads: Int) throws {
        let simulator = try Self.simulator()
        let whole = simulator.run(paths: 1234, seed: 5, threads: 1, chunkSize: 100)
        var indices: [Int] = [], next = 0
        var streamed = ExitSamples(dimension: 2, count: 0)
        simulator.run(paths: 1234, seed: 5, threads: threads, chunkSize: 100) { chunk in
            indices.append(chunk.index)
            #expect(chunk.firstPath == next)
            next += chunk.samples.count
            streamed.steps += chunk.samples.steps
            streamed.outcomes += chunk.samples.outcomes
            streamed.finalPoints += chunk.samples.finalPoints
        }
        #expect(indices == Array(0..<13))
        #expect(streamed == whole)
        #expect(whole.outcomes.contains(ExitSamples.censored))
    }

    struct Stop: Error {}

    /// An error thrown by the receiver ends the run (workers stop, nothing hangs) and is rethrown.
    @Test func receiverErrorStopsTheRun() throws {
        let simulator = try Self.simulator()
        var received = 0
        #expect(throws: Stop.self) {
            try simulator.run(paths: 50_000, seed: 1, threads: 4, chunkSize: 64) { (_: ExitChunk) throws(Stop) in
                received += 1
                if received == 3 { throw Stop() }
            }
        }
        #expect(received == 3)
    }

    /// The estimator as first written: Double sums over exit times in path order, t₀ from a
    /// sorted copy. The streamed one must agree up to summation order.
    static func textbook(_ samples: ExitSamples, timeScale: Double) -> (mean: Double?, se: Double?, lower: Double) {
        var exits: [Double] = [], censored = 0, censorTime = 0.0
        for k in 0..<samples.count {
            let t = Double(samples.steps[k]) * timeScale
            switch samples.outcomes[k] {
            case ExitSamples.censored: censored += 1; censorTime = max(censorTime, t)
            case ExitSamples.diverged: break
            default: exits.append(t)
            }
        }
        let n = Double(exits.count + censored)
        let restricted = (exits.reduce(0, +) + Double(censored) * censorTime) / n
        if censored == 0 {
            let ss = exits.reduce(0) { $0 + ($1 - restricted) * ($1 - restricted) }
            return (restricted, (ss / Double(exits.count - 1) / n).squareRoot(), restricted)
        }
        let t0 = exits.sorted()[(exits.count - 1) / 2]
        var m1 = 0.0, atRisk = 0.0, tail = 0.0, exposure = 0.0, squares = 0.0
        for (t, exited) in exits.map({ ($0, true) }) + Array(repeating: (censorTime, false), count: censored) {
            let c = min(t, t0)
            m1 += c; squares += c * c
            if t > t0 { atRisk += 1; exposure += t - t0; if exited { tail += 1 } }
        }
        m1 /= n
        let varM1 = max(squares / n - m1 * m1, 0) / n
        let s = atRisk / n, lambda = tail / exposure
        let variance = varM1 + s * (1 - s) / n / (lambda * lambda) + 2 * s * (t0 - m1) / n / lambda
            + s * s * (lambda * lambda / tail) / pow(lambda, 4)
        return (m1 + s / lambda, variance.squareRoot(), restricted)
    }

    /// Uncensored (sample mean) and censored (restricted mean + exponential tail) cells:
    /// the streamed estimate equals the textbook one to 1e-12 relative (summation order
    /// only), streamed chunk by chunk or whole, and the dropped-histogram path (median
    /// read back through `exitSteps`) gives the same bits as the in-memory histogram. At the
    /// 2 500-step cap most paths are censored and the tail check withholds the mean (84 %
    /// censored: more than half of it would lie beyond the cap); the restricted mean stays.
    @Test(arguments: [200_000, 9_000, 2_500])
    func streamedEstimateMatchesTextbook(maxSteps: Int) throws {
        let simulator = try Self.simulator(maxSteps: maxSteps)
        let dt = 1e-3
        let whole = simulator.run(paths: 3000, seed: 9, threads: 2)
        var inMemory = ExitTimeAccumulator(termCount: 2)
        var bounded = ExitTimeAccumulator(termCount: 2, histogramLimit: 10)
        simulator.run(paths: 3000, seed: 9, threads: 2) { chunk in
            inMemory.add(chunk.samples)
            bounded.add(chunk.samples)
        }
        #expect(bounded.histogram == nil && inMemory.histogram != nil)
        let a = ExitTimeEstimate(inMemory, timeScale: dt)
        var scans = 0
        let b = ExitTimeEstimate(bounded, timeScale: dt) { visit in
            scans += 1
            let exits = (0..<whole.count).filter { whole.outcomes[$0] >= 0 }.map { whole.steps[$0] }
            let counts = Dictionary(exits.map { ($0, 1) }, uniquingKeysWith: +)
            for step in counts.keys.sorted() where !visit(step, counts[step]!) { break }
        }
        #expect(a == b && a == ExitTimeEstimate(samples: whole, termCount: 2, timeScale: dt))
        let censored = maxSteps < 10_000
        #expect(scans == (censored ? 1 : 0))
        #expect((a.censored > 0) == censored)
        let reference = Self.textbook(whole, timeScale: dt)
        if maxSteps == 2_500 {
            #expect(a.tailWithheld && a.mean == nil && a.standardError == nil, "\(a.estimator)")
            #expect(abs(a.lowerBound / reference.lower - 1) < 1e-12)
            return
        }
        #expect(a.estimator == (censored ? ExitTimeEstimate.restrictedMeanExponentialTail : ExitTimeEstimate.sampleMean))
        let mean = try #require(a.mean), se = try #require(a.standardError)
        // 1e-12: a few thousand Double additions in another order, against exact integer sums
        #expect(abs(mean / reference.mean! - 1) < 1e-12 && abs(se / reference.se! - 1) < 1e-12)
        #expect(abs(a.lowerBound / reference.lower - 1) < 1e-12)
        #expect(inMemory.pathSteps == whole.steps.reduce(0, +))
    }
}
