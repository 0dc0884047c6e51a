import Foundation
import Testing
@testable import Diffusion

/// Critical points by damped Newton on the exact gradient. Newton converges quadratically
/// near a non-degenerate critical point, so the iterate stops at the rounding floor
/// (~1e-15·condition number); the closed forms are Newton-exact too, so 1e-10 leaves
/// five orders of magnitude of margin.
@Suite struct TheoryCriticalPointTests {
    static let tolerance = 1e-10

    @Test func doubleWellMinimaAndBarrier() throws {
        let landscape = try Landscape(expression: "x^4/4 - x^2/2")
        let points = CriticalPointFinder.search(on: landscape, box: [-2], upper: [2], starts: 20)
        #expect(points.count == 3)
        guard points.count == 3 else { return }
        // sorted by value (−1/4, −1/4, 0), ties by coordinate
        #expect(abs(points[0].point[0] + 1) < Self.tolerance && points[0].kind == .minimum)
        #expect(abs(points[1].point[0] - 1) < Self.tolerance && points[1].kind == .minimum)
        #expect(abs(points[2].point[0]) < Self.tolerance && points[2].kind == .maximum)
        #expect(points[0].label == "global minimum" && points[1].label == "global minimum")
        #expect(abs(points[0].value + 0.25) < Self.tolerance)
    }

    @Test func twoDimensionalSaddleHasIndexOne() throws {
        let landscape = try Landscape(expression: "x^4/4 - x^2/2 + y^2")
        let saddle = try #require(try CriticalPointFinder.find(on: landscape, near: [0.1, 0.1]))
        #expect(saddle.kind == .saddle && saddle.label == "index-1 saddle")
        #expect(saddle.point.allSatisfy { abs($0) < Self.tolerance })
        // H(0) = diag(−1, 2), exact
        #expect(CriticalPointFinder.hessianEigenvalues(landscape, at: [0, 0]) == [-1, 2])
        let all = CriticalPointFinder.search(on: landscape, box: [-2, -2], upper: [2, 2], starts: 30)
        #expect(all.map(\.kind) == [.minimum, .minimum, .saddle])
    }

    @Test func hessianEigenvaluesAscending() throws {
        let landscape = try Landscape(expression: "x^2 + x*y + y^2")  // H = [[2,1],[1,2]]: 1, 3
        let e = CriticalPointFinder.hessianEigenvalues(landscape, at: [0.3, -2])
        #expect(abs(e[0] - 1) < 1e-14 && abs(e[1] - 3) < 1e-14)  // symmetric QR: a few ulp
    }

    @Test func styblinskiTangNineCriticalPoints() throws {
        let landscape = try Landscape.styblinskiTang(dimension: 2, sharpness: 1, scaleArgument: false)
        let found = CriticalPointFinder.search(on: landscape, box: [-5, -5], upper: [5, 5], starts: 100)
        #expect(found.count == 9)
        for expected in landscape.criticalPoints {
            let match = found.first { p in zip(p.point, expected.point).allSatisfy { abs($0 - $1) < Self.tolerance } }
            #expect(match != nil, "missing \(expected.label) at \(expected.point)")
            guard let match else { continue }
            #expect(match.kind == expected.kind)
            #expect(match.label == expected.label)
            #expect(abs(match.value - expected.value) < Self.tolerance * max(1, abs(expected.value)))
        }
    }

    @Test func runawayStartReturnsNil() throws {
        // L = x has no critical point: Newton's system is singular, damping cannot reach ∇L = 0
        let landscape = try Landscape(expression: "x + 0*x^2")
        #expect(try CriticalPointFinder.find(on: landscape, near: [0.5]) == nil)
    }
}

/// Closed-form escape-time formulas (docs/THEORY.md §2, §4), checked against numbers worked out
/// by hand; the formulas are evaluated in a handful of floating-point operations, so the
/// tolerances are a few ulp (1e-12 relative) unless a quadrature is involved.
@Suite struct TheoryEscapeTimeTests {
    static func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }

    @Test func kramersOnTheDoubleWell() throws {
        // V = x⁴/4 − x²/2: V''(±1) = 2, V''(0) = −1, ΔV = 1/4. At ε = 0.1:
        // 1/(2k) = π/√(2·1) · e^{2.5} = 2.2214414691 × 12.1824939607 = 27.0626972811
        let half = try EscapeTheory.kramersFirstPassageToBarrier(curvatureAtMinimum: 2, curvatureAtBarrier: -1,
                                                                 barrier: 0.25, epsilon: 0.1)
        #expect(Self.relative(half.value, 27.062697281113397) < 1e-12)
        let full = try EscapeTheory.kramersTransitionTime(curvatureAtMinimum: 2, curvatureAtBarrier: -1,
                                                          barrier: 0.25, epsilon: 0.1)
        #expect(Self.relative(full.value, 2 * half.value) < 1e-15)
        // the asymptotic value sits below the exact MFPT 30.8213 (docs/THEORY.md §1) by O(ε/ΔV) = O(40%)
        #expect(half.value < 30.8213 && half.value > 0.6 * 30.8213)
    }

    @Test func eyringKramersReducesToKramers() throws {
        // x⁴/4 − x²/2 + y²: H(∓1, 0) = diag(2, 2), H(0, 0) = diag(−1, 2). Eyring–Kramers:
        // (2π/1)·√(1·2/(2·2)) e^{ΔV/ε} = 2π/√2 e^{ΔV/ε} = 1-D Kramers 1/k (the y curvature cancels)
        let landscape = try Landscape(expression: "x^4/4 - x^2/2 + y^2")
        let ek = try EscapeTheory.eyringKramers(on: landscape, minimum: [-1, 0], saddle: [0, 0], epsilon: 0.1)
        let kramers = try EscapeTheory.kramersTransitionTime(curvatureAtMinimum: 2, curvatureAtBarrier: -1,
                                                             barrier: 0.25, epsilon: 0.1)
        #expect(Self.relative(ek.value, kramers.value) < 1e-12)
        // and the 1-D landscape form agrees with the curvature form
        let oneD = try EscapeTheory.eyringKramers(on: Landscape(expression: "x^4/4 - x^2/2"),
                                                  minimum: [-1], saddle: [0], epsilon: 0.1)
        #expect(Self.relative(oneD.value, kramers.value) < 1e-12)
        #expect(throws: TheoryError.self) {
            try EscapeTheory.eyringKramers(on: landscape, minimum: [0, 0], saddle: [-1, 0], epsilon: 0.1)
        }
    }

    @Test func freidlinWentzellBarriers() throws {
        let iso = try EscapeTheory.freidlinWentzellIsotropicBarrier(lossBarrier: 0.25, noiseVariance: 2)
        #expect(iso.value == 0.25)  // 2·0.25/2, exact in binary
        // constant σ² = 2 along the path: the 1-D integral reduces to 2ΔL/σ² (QAGS, rel. 1e-11)
        let constant = try EscapeTheory.freidlinWentzellBarrier1D(derivative: { $0 * $0 * $0 - $0 },
                                                                  noiseVariance: { _ in 2 }, minimum: -1, boundary: 0)
        #expect(Self.relative(constant.value, iso.value) < 1e-10)
        // σ²(u) = 1 + u²: (u³ − u)/(1 + u²) = u − 2u/(1+u²), ∫_{−1}^{0} = ln 2 − 1/2, V̄ = 2 ln 2 − 1
        let varying = try EscapeTheory.freidlinWentzellBarrier1D(derivative: { $0 * $0 * $0 - $0 },
                                                                 noiseVariance: { 1 + $0 * $0 }, minimum: -1, boundary: 0)
        #expect(Self.relative(varying.value, 2 * log(2.0) - 1) < 1e-10)
        // N = η⁻¹ e^{B V̄₁/η}: V̄₁ = 0.25, B = 2, η = 0.1 → 10·e^5
        let n = try EscapeTheory.sgdArrheniusIterations(quasiPotential: 0.25, learningRate: 0.1, batchSize: 2)
        #expect(Self.relative(n.value, 10 * exp(5.0)) < 1e-12)
        #expect(n.timeUnit == "iterations")
    }

    @Test func saddleEscape() throws {
        // λ = 1, r = 1, D = 0.01: (1/2)[ln(200) + γ_E] = (5.298317366548036 + 0.5772156649015329)/2
        let t = try EscapeTheory.saddleEscapeTime(unstableEigenvalue: 1, halfWidth: 1, diffusion: 0.01)
        #expect(Self.relative(t.value, 2.9377665157247843) < 1e-12)
        #expect(t.assumptions.contains("reconstructed"))
    }

    @Test func xiePathParameter() throws {
        // symmetric cases, s = 1/2: L = −cos θ from 0 to π (inflection π/2, L(π/2) − L(0) = 1 = ΔL/2)
        // and L = θ²/2 − θ³/3 from 0 to 1 (inflection 1/2, L(1/2) = 1/12 = ΔL/2 with ΔL = 1/6)
        let cosine = try EscapeTheory.xieSatoSugiyamaPathParameter(on: Landscape(expression: "-cos(x)"), minimum: 0, saddle: Double.pi)
        #expect(abs(cosine - 0.5) < 1e-12)  // c by Brent to 4 ulp where L'(c) = 1 ≠ 0: s exact to ~1e-16
        let cubic = try EscapeTheory.xieSatoSugiyamaPathParameter(on: Landscape(expression: "x^2/2 - x^3/3"), minimum: 0, saddle: 1)
        #expect(abs(cubic - 0.5) < 1e-12)
        // asymmetric, general form: L = 2θ² (θ ≤ 1), L = 10 − (θ−5)²/2 (θ ≥ 1), C¹ at θ = 1;
        // H_a = 4, H_b = −1, ΔL = 10, profile h = 4 | 1: ∫ L'/h = 1/2 + 8 = 8.5 = 10(1 − 3s/4) ⇒ s = 1/5
        let s = try EscapeTheory.xieSatoSugiyamaPathParameter(
            derivative: { $0 <= 1 ? 4 * $0 : 5 - $0 }, noiseCurvature: { $0 <= 1 ? 4 : 1 },
            minimum: 0, saddle: 5, lossBarrier: 10, curvatureAtMinimum: 4, curvatureAtSaddle: -1, breakpoint: 1)
        #expect(abs(s - 0.2) < 1e-10)  // QAGS relative 1e-11 on 8.5, amplified by 1/(ΔL·0.75)
        #expect((0...1).contains(s))
        // τ = (2π/|H_b|) exp[(2BΔL/η)(s/H_a + (1−s)/|H_b|)] with ΔL = 1, H_a = 4, H_b = −1, s = 1/5, B = 1, η = 1:
        // exponent 2·(0.05 + 0.8) = 1.7
        let tau = try EscapeTheory.xieSatoSugiyamaEscapeTime(lossBarrier: 1, curvatureAtMinimum: 4, curvatureAtSaddle: -1,
                                                             pathParameter: 0.2, learningRate: 1, batchSize: 1)
        #expect(Self.relative(tau.value, 2 * Double.pi * exp(1.7)) < 1e-12)
        #expect(tau.reference.contains("recalled"))
    }

    @Test func moriExponent() throws {
        // B/(ηh*) + 1 − n/2 = 4/(0.5·2) + 1 − 1 = 4
        let p = try EscapeTheory.moriRateExponent(batchSize: 4, learningRate: 0.5, curvatureAtMinimum: 2, dimension: 2)
        #expect(p.value == 4)
        let rate = try EscapeTheory.moriRelativeRate(lossAtMinimum: 0.1, lossAtSaddle: 0.2, batchSize: 4,
                                                     learningRate: 0.5, curvatureAtMinimum: 2, dimension: 2)
        #expect(Self.relative(rate.value, 1.0 / 16) < 1e-15)
    }

    @Test func imkellerPavlyukevichAndGetoor() throws {
        // α = 1: c = Γ(2) sin(π/2)/π = 1/π; symmetric b± = ±1, ε = 0.1:
        // E τ = 1·0.1⁻¹/(2/π) = 5π = 15.707963267948966
        let ip = try EscapeTheory.imkellerPavlyukevichMeanExitTime(alpha: 1, epsilon: 0.1, lower: -1, upper: 1)
        #expect(Self.relative(ip.value, 5 * Double.pi) < 1e-12)
        // shifting the well and the interval together changes nothing; widening one side only
        // lowers that side's jump rate: b₊ = 3 gives α ε^{−α}/(c(1/3 + 1)) = 10π·3/4
        let shifted = try EscapeTheory.imkellerPavlyukevichMeanExitTime(alpha: 1, epsilon: 0.1, minimum: 2, lower: 1, upper: 3)
        #expect(Self.relative(shifted.value, ip.value) < 1e-12)
        let wide = try EscapeTheory.imkellerPavlyukevichMeanExitTime(alpha: 1, epsilon: 0.1, lower: -1, upper: 3)
        #expect(Self.relative(wide.value, 10 * Double.pi * 0.75) < 1e-12)
        // α = 1.5 scales as ε^{−α}: halving ε multiplies by 2^{1.5}
        let a = try EscapeTheory.imkellerPavlyukevichMeanExitTime(alpha: 1.5, epsilon: 0.2, lower: -1, upper: 2)
        let b = try EscapeTheory.imkellerPavlyukevichMeanExitTime(alpha: 1.5, epsilon: 0.1, lower: -1, upper: 2)
        #expect(Self.relative(b.value / a.value, pow(2, 1.5)) < 1e-12)

        // Getoor at x = 0, r = 1: 1/Γ(1+α); Γ(2.5) = 3√π/4 ⇒ 0.752252778063675
        let g = try EscapeTheory.getoorMeanExitTime(alpha: 1.5, halfWidth: 1, start: 0)
        #expect(Self.relative(g.value, 1 / (0.75 * Double.pi.squareRoot())) < 1e-12)
        // α = 2 is Brownian motion with D = 1: (r² − x²)/2
        let bm = try EscapeTheory.getoorMeanExitTime(alpha: 2, halfWidth: 2, start: 1)
        #expect(Self.relative(bm.value, 1.5) < 1e-12)
    }
}

/// Stability thresholds (docs/THEORY.md §3) on the quadratic sums a = [0.5, 1, 2, 4, 8]:
/// ā = 3.1, σ_a² = 85.25/5 − 3.1² = 7.44.
@Suite struct TheoryStabilityTests {
    static let a = [0.5, 1.0, 2.0, 4.0, 8.0]
    static let sums = QuadraticSums(matrices: a.map { [$0] }, minimizer: [0])

    @Test func oneDimensionalClosedForms() throws {
        let t2 = try StabilityThresholds(finiteSum: Self.sums, minimum: [0], batchSize: 2)
        #expect(abs(t2.gd - 2 / 3.1) < 1e-15)
        // 1-D: the mean Hessian is ā = 3.1, its top eigenvalue and its Frobenius norm both
        #expect(abs(t2.topEigenvalue - 3.1) < 1e-15 && abs(t2.hessianFrobeniusNorm - 3.1) < 1e-15)
        // B = 2: with replacement E m² = 9.61 + 7.44/2 = 13.33, η = 6.2/13.33;
        // without, c = 3/8: E m² = 9.61 + 2.79 = 12.4, η = 6.2/12.4 = 1/2 (rounding of ā, σ²: 1e-15)
        #expect(abs(t2.meanSquare.withReplacement - 6.2 / 13.33) < 1e-14)
        #expect(abs(t2.meanSquare.withoutReplacement! - 0.5) < 1e-14)
        #expect(t2.meanSquare.withoutReplacement! > t2.meanSquare.withReplacement)  // less minibatch variance
        #expect(t2.meanSquare.withoutReplacement! < t2.gd)
        // sure: with replacement the batch {8, 8}: 2/8; without, {4, 8}: 2/6
        let sure = try #require(t2.sure)
        #expect(sure.withReplacement == 0.25 && abs(sure.withoutReplacement! - 1.0 / 3) < 1e-15)
        // B = 1: both samplings have c = 1: E m² = 17.05, η = 6.2/17.05 = 4/11
        let t1 = try StabilityThresholds(finiteSum: Self.sums, minimum: [0], batchSize: 1)
        #expect(abs(t1.meanSquare.withReplacement - 4.0 / 11) < 1e-14)
        #expect(abs(t1.meanSquare.withoutReplacement! - 4.0 / 11) < 1e-14)
        #expect(t1.sure == .init(withReplacement: 0.25, withoutReplacement: 0.25))
        // full batch without replacement is GD
        let t5 = try StabilityThresholds(finiteSum: Self.sums, minimum: [0], batchSize: 5)
        #expect(abs(t5.meanSquare.withoutReplacement! - t5.gd) < 1e-15)
    }

    @Test func almostSureRootAndOrdering() throws {
        let curvature = try MinibatchCurvature(finiteSum: Self.sums, at: [0])
        for b in [1, 2, 3] {
            let t = try StabilityThresholds(curvature: curvature, batchSize: b)
            let asure = try #require(t.almostSure)
            for (eta, replacement) in [(asure.withReplacement, true), (asure.withoutReplacement!, false)] {
                let distribution = try #require(curvature.batchMeanDistribution1D(batchSize: b, withReplacement: replacement))
                #expect(abs(distribution.reduce(0) { $0 + $1.probability } - 1) < 1e-14)
                // bisection to adjacent doubles: |Λ| ≤ |Λ'|·ulp(η) ≪ 1e-10
                let lambda = MinibatchCurvature.lyapunovExponent1D(learningRate: eta, distribution: distribution)
                #expect(abs(lambda) < 1e-10, "B = \(b), replacement \(replacement): Λ = \(lambda) at η = \(eta), ms \(t.meanSquare)")
            }
            // Jensen: E log|1−ηm| ≤ ½ log E(1−ηm)², so almost-sure stability outlasts mean-square
            #expect(asure.withReplacement >= t.meanSquare.withReplacement)
            #expect(asure.withoutReplacement! >= t.meanSquare.withoutReplacement!)
        }
    }

    @Test func meanSquareOperatorMatchesEnumeration() throws {
        // 2-D, n = 4, B = 2: E[(I−ηM)⊗(I−ηM)] by enumerating all batches equals the closed form
        let mats: [[Double]] = [[2, 0.5, 0.5, 1], [1, -0.3, -0.3, 3], [4, 1, 1, 0.5], [0.7, 0, 0, 2]]
        let curvature = try MinibatchCurvature(sampleHessians: mats, dimension: 2)
        let eta = 0.3, b = 2
        func kron(_ m: [Double]) -> [Double] {
            let x = [1 - eta * m[0], -eta * m[1], -eta * m[2], 1 - eta * m[3]]
            var out = [Double](repeating: 0, count: 16)
            for i in 0..<2 { for j in 0..<2 { for k in 0..<2 { for l in 0..<2 {
                out[(i * 2 + k) * 4 + j * 2 + l] = x[i * 2 + j] * x[k * 2 + l]
            } } } }
            return out
        }
        func batchMean(_ idx: [Int]) -> [Double] { (0..<4).map { k in idx.reduce(0) { $0 + mats[$1][k] } / Double(idx.count) } }
        var with = [Double](repeating: 0, count: 16), without = with
        for i in 0..<4 { for j in 0..<4 {
            let k = kron(batchMean([i, j]))
            for e in 0..<16 { with[e] += k[e] / 16 }
            if i < j { for e in 0..<16 { without[e] += k[e] / 6 } }
        } }
        let closedWith = try curvature.meanSquareOperator(learningRate: eta, batchSize: b, withReplacement: true)
        let closedWithout = try curvature.meanSquareOperator(learningRate: eta, batchSize: b, withReplacement: false)
        // sums of ~16 products of O(1) numbers: rounding ~1e-15
        #expect(zip(with, closedWith).allSatisfy { abs($0 - $1) < 1e-13 })
        #expect(zip(without, closedWithout).allSatisfy { abs($0 - $1) < 1e-13 })
    }

    @Test func diagonalTwoDimensionalDecouples() throws {
        // Aᵢ = diag(aᵢ, bᵢ): ρ is the larger of the two 1-D factors (the off-diagonal block is
        // bounded by Cauchy–Schwarz), so each threshold is the smaller of the 1-D ones
        let b1 = [1.0, 1.5, 0.5, 3.0, 2.0]
        let twoD = QuadraticSums(matrices: zip(Self.a, b1).map { [$0, 0, 0, $1] }, minimizer: [0, 0])
        let t = try StabilityThresholds(finiteSum: twoD, minimum: [0, 0], batchSize: 2)
        let x = try StabilityThresholds(finiteSum: Self.sums, minimum: [0], batchSize: 2)
        let y = try StabilityThresholds(finiteSum: QuadraticSums(matrices: b1.map { [$0] }, minimizer: [0]), minimum: [0], batchSize: 2)
        #expect(abs(t.gd - min(x.gd, y.gd)) < 1e-15)
        // bisection to adjacent doubles on ρ(η) − 1, which has slope O(1): ~1e-15; 1e-12 covers eigen rounding
        #expect(abs(t.meanSquare.withReplacement - min(x.meanSquare.withReplacement, y.meanSquare.withReplacement)) < 1e-12)
        #expect(abs(t.meanSquare.withoutReplacement! - min(x.meanSquare.withoutReplacement!, y.meanSquare.withoutReplacement!)) < 1e-12)
        #expect(abs(t.wuMaE.withReplacement - min(x.wuMaE.withReplacement, y.wuMaE.withReplacement)) < 1e-12)
        let sure = try #require(t.sure)
        #expect(abs(sure.withReplacement - 0.25) < 1e-15)  // max eigenvalue over samples: 8
        #expect(t.almostSure == nil)
    }

    @Test func wuMaEToyAtTheMinimumOne() throws {
        // at x = 1 both samples are on their (x−1) branch: Hᵢ = 0.2, 3.8; H = 2,
        // Σ_H = (0.04 + 14.44)/2 − 4 = 3.24; n = 2, B = 1: c = (2−1)/(1·1) = 1 (= 1/B too)
        let curvature = try MinibatchCurvature(finiteSum: WuMaEToy(), at: [1])
        #expect(abs(curvature.meanHessian[0] - 2) < 1e-15)
        // η = 0.7: (1 − 1.4)² + 0.49·3.24 = 0.16 + 1.5876 = 1.7476 > 1 (unstable; GD: 0.16 stable)
        let unstable = try curvature.wuMaEValue(learningRate: 0.7, batchSize: 1, withReplacement: false)
        #expect(abs(unstable - 1.7476) < 1e-12)
        // η = 0.3: 0.16 + 0.09·3.24 = 0.4516 ≤ 1
        let stable = try curvature.wuMaEValue(learningRate: 0.3, batchSize: 1, withReplacement: false)
        #expect(abs(stable - 0.4516) < 1e-12)
        // threshold 2H/(H² + Σ_H) = 4/7.24; GD's 2/H = 1 admits η = 0.7
        let t = try StabilityThresholds(curvature: curvature, batchSize: 1)
        #expect(abs(t.wuMaE.withoutReplacement! - 4 / 7.24) < 1e-14)
        #expect(t.gd == 1 && t.wuMaE.withoutReplacement! < 0.7)
    }

    @Test func wuWangSuAlignment() throws {
        // 1-D least squares, features aᵢ = 1, 2 and targets 1, 0: θ* = Σay/Σa² = 1/5,
        // residuals rᵢ = aᵢθ* − yᵢ = −4/5, 2/5; L = (16/25 + 4/25)/4 = 1/5; G = H = 5/2;
        // ∇ℓᵢ = rᵢaᵢ = −4/5, 4/5 ⇒ mean 0, Σ = 16/25; μ = (16/25·5/2)/(2·1/5·25/4) = 8/5 / 5/2 = 16/25
        let regression = LinearRegression(features: [[1], [2]], targets: [1, 0])
        let t = try StabilityThresholds(finiteSum: regression, minimum: [0.2], batchSize: 1)
        let w = try #require(t.wuWangSu)
        #expect(abs(w.alignment - 0.64) < 1e-14)
        #expect(abs(w.learningRate - (1 / 0.64).squareRoot() / 2.5) < 1e-14)
    }
}
