import Foundation
import Testing
import TestSupport
@testable import Diffusion

/// Exact per-sample derivatives of the sharp-flat sum and the two-layer / random-feature
/// network, and the sharpness / alignment geometry built on them.
@Suite struct FiniteSumModelTests {
    /// Central differences of `f` at `x` in coordinate j with step h: truncation error
    /// h²/6·|f'''| and rounding ~ulp(f)/h. With h = 1e-5 and O(1)–O(10²) derivatives both are
    /// ≲ 1e-7, so 1e-6·max(1, |value|) leaves an order of magnitude.
    static func centralDifference(_ f: ([Double]) -> Double, at x: [Double], _ j: Int, h: Double = 1e-5) -> Double {
        var plus = x, minus = x
        plus[j] += h; minus[j] -= h
        return (f(plus) - f(minus)) / (2 * h)
    }

    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-6) -> Bool {
        abs(a - b) <= tolerance * max(1, abs(b))
    }

    /// Checks every sample's gradient against differences of its loss and its Hessian against
    /// differences of its gradient, at `point`.
    static func checkDerivatives(_ sum: any FiniteSum, at point: [Double]) {
        let d = sum.dimension
        for i in 0..<sum.sampleCount {
            func loss(_ x: [Double]) -> Double { x.withUnsafeBufferPointer { sum.sampleLoss(i, at: $0.baseAddress!) } }
            func gradient(_ x: [Double]) -> [Double] {
                var g = [Double](repeating: 0, count: d)
                x.withUnsafeBufferPointer { p in g.withUnsafeMutableBufferPointer { sum.addSampleGradient(i, at: p.baseAddress!, scale: 1, into: $0.baseAddress!) } }
                return g
            }
            var h = [Double](repeating: 0, count: d * d)
            point.withUnsafeBufferPointer { p in h.withUnsafeMutableBufferPointer { sum.addSampleHessian(i, at: p.baseAddress!, scale: 1, into: $0.baseAddress!) } }
            let g = gradient(point)
            for j in 0..<d {
                let fd = centralDifference(loss, at: point, j)
                #expect(close(g[j], fd), "sample \(i), ∂\(j): \(g[j]) vs \(fd)")
                for k in 0..<d {
                    let column = centralDifference({ gradient($0)[k] }, at: point, j)
                    #expect(close(h[k * d + j], column), "sample \(i), H[\(k),\(j)]: \(h[k * d + j]) vs \(column)")
                    #expect(h[k * d + j] == h[j * d + k], "sample \(i): Hessian not symmetric at (\(k), \(j))")
                }
            }
        }
    }

    static let sharpFlat = try! SharpFlatSum(sharpCurvatures: [1, 4, 10, 15, 20], flatCurvatures: [0.25, 0.5, 1, 1.5, 1.75])

    @Test func sharpFlatSumCurvaturesAndCriticalPoints() throws {
        let sum = Self.sharpFlat
        for x in [-1.7, -1.0, -0.3, 0.2, 0.9, 1.0, 2.2] { Self.checkDerivatives(sum, at: [x]) }
        // ℓᵢ''(s) = hᵢˢ, ℓᵢ''(t) = hᵢᶠ exactly: at a = 0 only b⁴/Δ⁴ = 1 survives (powers of two: exact)
        for i in 0..<5 {
            var h = [0.0], g = [0.0]
            [-1.0].withUnsafeBufferPointer { sum.addSampleHessian(i, at: $0.baseAddress!, scale: 1, into: &h) }
            #expect(h[0] == sum.sharpCurvatures[i])
            [1.0].withUnsafeBufferPointer {
                sum.addSampleHessian(i, at: $0.baseAddress!, scale: 1, into: &h)
                sum.addSampleGradient(i, at: $0.baseAddress!, scale: 1, into: &g)
            }
            #expect(h[0] == sum.sharpCurvatures[i] + sum.flatCurvatures[i] && g[0] == 0)
        }
        let points = sum.criticalPoints
        #expect(points.map(\.label) == ["sharp minimum", "barrier", "flat minimum"])
        let landscape = Landscape(finiteSum: sum, criticalPoints: points, summary: "test")
        // the barrier: bisection to adjacent doubles of the cubic factor, so |L'| ~ 1e-15
        #expect(abs(landscape.gradient(at: points[1].point)[0]) < 1e-13)
        #expect(landscape.hessian(at: points[1].point)[0] < 0)
        #expect(points[1].point[0] > -1 && points[1].point[0] < 1 && points[1].value > 0)
        #expect(abs(landscape.hessian(at: [-1])[0] - 10) < 1e-14 && abs(landscape.hessian(at: [1])[0] - 1) < 1e-14)
        // at the midpoint a = −b = Δ/2: ℓ = (Δ/2)⁴(hˢ + hᶠ)(Δ/2)²/(2Δ⁴) = Δ²(hˢ + hᶠ)/128, Δ = 2
        #expect(abs(landscape.value(at: [0]) - 4 * 11 / 128) < 1e-14)  // a few roundings of 0.34375
        // Newton from near each minimum finds it (CriticalPointFinder uses the exact Hessian)
        let sharp = try #require(try CriticalPointFinder.find(on: landscape, near: [-0.9]))
        #expect(sharp.kind == .minimum && abs(sharp.point[0] + 1) < 1e-10)  // Newton on a simple root of L': rounding floor ~1e-15
        #expect(throws: LandscapeError.self) { try SharpFlatSum(sharpCurvatures: [1], flatCurvatures: [1, 2]) }
        #expect(throws: LandscapeError.self) { try SharpFlatSum(sharpCurvatures: [1], flatCurvatures: [-1]) }
        #expect(throws: LandscapeError.self) { try SharpFlatSum(sharpCurvatures: [1], flatCurvatures: [1], sharpMinimum: 1, flatMinimum: 1) }
    }

    @Test(arguments: TwoLayerNetwork.Activation.allCases)
    func twoLayerDerivativesMatchDifferences(_ activation: TwoLayerNetwork.Activation) throws {
        for trains in [false, true] {
            let model = TwoLayerNetwork.synthetic(samples: 4, inputDimension: 3, width: 4, activation: activation,
                                                  trainsFirstLayer: trains, labelNoise: 0.2, dataSeed: 7)
            #expect(model.dimension == (trains ? 16 : 4))
            var generator = SplitMix64(seed: 71)
            let point = (0..<model.dimension).map { _ in generator.uniform(-0.5, 0.5) }
            Self.checkDerivatives(model, at: point)
            // ∇ℓᵢ = rᵢ∇uᵢ (the square-loss structure LocalGeometry relies on)
            for i in 0..<4 {
                var gu = [Double](repeating: 0, count: model.dimension), gl = gu
                let r = point.withUnsafeBufferPointer { p -> Double in
                    model.addOutputGradient(i, at: p.baseAddress!, scale: 1, into: &gu)
                    model.addSampleGradient(i, at: p.baseAddress!, scale: 1, into: &gl)
                    return model.residual(i, at: p.baseAddress!)
                }
                #expect(zip(gu, gl).allSatisfy { abs(r * $0 - $1) <= 1e-14 * max(1, abs($1)) })
            }
        }
    }

    /// Random features are linear least squares on φᵢ = σ(W₀xᵢ): the same loss, gradient,
    /// Hessian and alignment as `LinearRegression` on those features (two implementations),
    /// and the minimum-norm solution interpolates when m > n.
    @Test func randomFeaturesAreLinearRegressionOnTheirFeatures() throws {
        let model = TwoLayerNetwork.synthetic(samples: 10, inputDimension: 3, width: 6, activation: .relu,
                                              trainsFirstLayer: false, labelNoise: 0.1, dataSeed: 8)
        let rows = (0..<10).map { Array(model.features[($0 * 6)..<(($0 + 1) * 6)]) }
        let regression = LinearRegression(features: rows, targets: model.targets)
        let point = [0.3, -0.2, 0.1, 0.5, -0.4, 0.2]
        let a = Landscape(finiteSum: model, summary: "rf"), b = Landscape(finiteSum: regression, summary: "lr")
        #expect(a.value(at: point) == b.value(at: point))
        #expect(a.gradient(at: point) == b.gradient(at: point))
        #expect(a.hessian(at: point) == b.hessian(at: point))
        let ga = model.localGeometry(at: point), gb = regression.localGeometry(at: point)
        #expect(ga == gb)
        // LocalGeometry's μ equals StabilityThresholds' (a separate implementation) to rounding
        let w = try #require(StabilityThresholds.wuWangSu(regression, at: point, batchSize: 2))
        #expect(abs(try #require(ga.alignment) - w.alignment) < 1e-12 * w.alignment)
        #expect(abs(ga.hessianFrobeniusNorm - w.hessianFrobeniusNorm) < 1e-12 * w.hessianFrobeniusNorm)
        #expect(abs(try #require(ga.hessianBound(learningRate: 0.1, batchSize: 2, sampleCount: 10, withReplacement: true)) - w.hessianBound(learningRate: 0.1)) < 1e-10)
        // least squares (m < n): the normal equations' solution has zero gradient
        let solution = try #require(model.minimumNormSolution())
        #expect(a.gradient(at: solution).allSatisfy { abs($0) < 1e-12 })
        // over-parameterised (m > n): interpolation, L = 0, μ undefined
        let wide = TwoLayerNetwork.synthetic(samples: 5, inputDimension: 3, width: 12, activation: .tanh,
                                             trainsFirstLayer: false, labelNoise: 0.1, dataSeed: 9)
        let interpolant = try #require(wide.minimumNormSolution())
        let g = wide.localGeometry(at: interpolant)
        #expect(g.loss < LocalGeometry.alignmentLossFloor && g.alignment == nil)
        #expect(TwoLayerNetwork.synthetic(samples: 5, inputDimension: 3, width: 2, activation: .tanh, trainsFirstLayer: true,
                                          labelNoise: 0, dataSeed: 9).minimumNormSolution() == nil)
    }

    /// docs/THEORY.md §3's worked 1-D least-squares example: features 1, 2, targets 1, 0 at
    /// θ* = 1/5 give μ = 16/25 (see TheoryStabilityTests.wuWangSuAlignment); and a
    /// non-square-loss sum uses G := H.
    @Test func localGeometryHandComputed() throws {
        let g = LinearRegression(features: [[1], [2]], targets: [1, 0]).localGeometry(at: [0.2])
        #expect(abs(try #require(g.alignment) - 0.64) < 1e-14)
        #expect(abs(g.loss - 0.2) < 1e-15 && g.gradientNorm < 1e-15 && abs(g.hessianFrobeniusNorm - 2.5) < 1e-15)
        #expect(g.hessianTopEigenvalue == 2.5 && !g.gaussNewtonIsHessian)
        // bound √(B/μ)/η with replacement; (n−B)/(B(n−1)) = 0 for B = n = 2 without: no noise, no bound
        #expect(abs(try #require(g.hessianBound(learningRate: 0.5, batchSize: 1, sampleCount: 2, withReplacement: true)) - 2.5) < 1e-14)
        #expect(g.hessianBound(learningRate: 0.5, batchSize: 2, sampleCount: 2, withReplacement: false) == .infinity)
        // quadratic sums away from θ*: Σ = Var(a)x², L = ā x²/2, G := H = ā: μ = Var(a)ā/(ā·ā²) = Var(a)/ā²
        let a = [0.5, 1.0, 2.0, 4.0, 8.0]
        let q = QuadraticSums(matrices: a.map { [$0] }, minimizer: [0]).localGeometry(at: [0.7])
        #expect(q.gaussNewtonIsHessian)
        #expect(abs(try #require(q.alignment) - 7.44 / (3.1 * 3.1)) < 1e-13)
    }
}
