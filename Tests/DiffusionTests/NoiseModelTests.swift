import Foundation
import Testing
@testable import Diffusion

/// `NoiseModel` against closed forms (docs/THEORY.md §0): D(θ) = ε·I or (η/2)·c_B·Σ₁(θ), the
/// minibatch factor c_B, Σ₁ of a finite sum against the covariance of its per-sample
/// gradients computed here, and the step laws the engines draw.
@Suite struct NoiseModelTests {
    /// A handful of roundings on O(1) values: 8 ulp relative is ample and still exact in form.
    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 8 * Double.ulpOfOne) -> Bool {
        abs(a - b) <= tolerance * max(abs(a), abs(b), 1e-300)
    }

    static func closeMatrices(_ a: [Double], _ b: [Double], _ tolerance: Double = 8 * Double.ulpOfOne) -> Bool {
        let scale = max(b.map(abs).max() ?? 0, 1e-300)
        return a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * scale }
    }

    static let plane = try! Landscape(expression: "x^2/2 + 3*y^2/2")
    /// H = [[0, 1], [1, 0]]: eigenvalues ±1, H⁺ = ½[[1, 1], [1, 1]].
    static let saddle = try! Landscape(expression: "x*y + 1")

    /// n = 5 samples in 2-D, small integers so the reference covariance is easy to follow.
    static let regression = LinearRegression(features: [[1, 0], [0, 2], [1, 1], [-1, 3], [2, -1]],
                                             targets: [1, -1, 0.5, 2, 0])
    static let regressionLandscape = Landscape(finiteSum: regression, summary: "regression")

    @Test func langevinDiffusionIsEpsilonTimesIdentity() throws {
        let model = try NoiseModel(dynamics: .langevin(epsilon: 0.3), landscape: Self.plane)
        #expect(model.diffusionMatrix(at: [0.4, -1]) == [0.3, 0, 0, 0.3])
        #expect(model.isotropicDiffusion == 0.3)
        #expect(model.isGaussian && model.bridgeTestApplies && !model.isStateDependent && model.alphaStable == nil)
        #expect(model.minibatchFactor == nil)
        // √(2εh) per coordinate
        #expect(model.stepNoise(stepSize: 0.01) == .gaussian(standardDeviation: (2 * 0.3 * 0.01).squareRoot()))
    }

    @Test(arguments: [1, 3, 7])
    func gaussianAndStudentTDiffusion(batch: Int) throws {
        let eta = 0.1, sigma = 1.7, nu = 5.0
        let b = Double(batch)
        for continuous in [false, true] {
            func dynamics(_ law: NoiseLaw) -> Dynamics {
                continuous ? .sgdSDE(learningRate: eta, batchSize: batch, noise: law, withReplacement: true)
                           : .sgd(learningRate: eta, batchSize: batch, noise: law, withReplacement: true)
            }
            let gaussian = try NoiseModel(dynamics: dynamics(.gaussian(sigma: sigma)), landscape: Self.plane)
            let d = eta * sigma * sigma / (2 * b)  // ε = ησ²/(2B)
            #expect(Self.close(gaussian.isotropicDiffusion!, d))
            #expect(Self.closeMatrices(gaussian.diffusionMatrix(at: [1, 2]), [d, 0, 0, d]))
            #expect(Self.closeMatrices(gaussian.perSampleCovariance(at: [1, 2]), [sigma * sigma, 0, 0, sigma * sigma]))
            #expect(gaussian.minibatchFactor == 1 / b)

            let t = try NoiseModel(dynamics: dynamics(.studentT(sigma: sigma, degreesOfFreedom: nu)), landscape: Self.plane)
            let dt = eta * sigma * sigma * nu / (nu - 2) / (2 * b)  // variance σ²ν/(ν−2) per sample
            #expect(Self.close(t.isotropicDiffusion!, dt))
            #expect(Self.closeMatrices(t.diffusionMatrix(at: [1, 2]), [dt, 0, 0, dt]))
        }
    }

    @Test func hessianLawsUseThePositivePart() throws {
        let eta = 0.2, c = 1.5, b = 3
        let k = eta / (2 * Double(b))
        let hessian = try NoiseModel(dynamics: .sgdSDE(learningRate: eta, batchSize: b, noise: .hessian(scale: c), withReplacement: true),
                                     landscape: Self.saddle)
        #expect(hessian.isStateDependent && hessian.isGaussian && hessian.isotropicDiffusion == nil)
        // eigenvalues ±1 of H: H⁺ = ½[[1, 1], [1, 1]]; GSL's eigensolver: a few ulp
        #expect(Self.closeMatrices(hessian.perSampleCovariance(at: [0.3, 0.2]), [c / 2, c / 2, c / 2, c / 2], 1e-14))
        #expect(Self.closeMatrices(hessian.diffusionMatrix(at: [0.3, 0.2]), [k * c / 2, k * c / 2, k * c / 2, k * c / 2], 1e-14))

        let point = [0.5, -3.0]  // L = −0.5: L⁺ = 0, no noise
        let loss = try NoiseModel(dynamics: .sgdSDE(learningRate: eta, batchSize: b, noise: .lossProportional(scale: c), withReplacement: true),
                                  landscape: Self.saddle)
        #expect(loss.diffusionMatrix(at: point).allSatisfy { $0 == 0 })
        let above = [2.0, 1.0]  // L = 3
        #expect(Self.closeMatrices(loss.perSampleCovariance(at: above), [3 * c, 3 * c, 3 * c, 3 * c], 1e-14))  // 2c·L⁺·H⁺

        // 1-D: H⁺ = max(H, 0) exactly
        let well = try Landscape(expression: "x^4/4 - x^2/2")
        let oneD = try NoiseModel(dynamics: .sgd(learningRate: eta, batchSize: b, noise: .hessian(scale: c), withReplacement: false),
                                  landscape: well)
        #expect(oneD.perSampleCovariance(at: [0]) == [0])  // V'' = −1 < 0
        #expect(Self.close(oneD.diffusionMatrix(at: [2])[0], k * c * 11))  // V''(2) = 3·4 − 1
    }

    /// Σ₁(θ) of a finite sum is the (population) covariance of its n per-sample gradients,
    /// computed here in two passes from ∇ℓᵢ = aᵢ(aᵢᵀθ − yᵢ).
    @Test(arguments: [[0.0, 0.0], [0.7, -1.3], [2.0, 0.5]])
    func finiteSumCovarianceIsTheSampleCovariance(point: [Double]) throws {
        let r = Self.regression, n = r.sampleCount, d = r.dimension
        let gradients = (0..<n).map { i -> [Double] in
            let a = Array(r.features[(i * d)..<((i + 1) * d)])
            let residual = zip(a, point).reduce(-r.targets[i]) { $0 + $1.0 * $1.1 }
            return a.map { $0 * residual }
        }
        let mean = (0..<d).map { j in gradients.reduce(0) { $0 + $1[j] } / Double(n) }
        var covariance = [Double](repeating: 0, count: d * d)
        for g in gradients {
            for p in 0..<d { for q in 0..<d { covariance[p * d + q] += (g[p] - mean[p]) * (g[q] - mean[q]) / Double(n) } }
        }
        // one-pass E[ggᵀ] − ḡḡᵀ against two passes: cancellation of O(|g|²) terms, 1e-13 relative
        for replacement in [true, false] {
            for b in [1, 2, 5] {
                let model = try NoiseModel(dynamics: .sgdSDE(learningRate: 0.1, batchSize: b, noise: .finiteSum, withReplacement: replacement),
                                           landscape: Self.regressionLandscape)
                #expect(Self.closeMatrices(model.perSampleCovariance(at: point), covariance, 1e-13))
                let cB = replacement ? 1 / Double(b) : Double(n - b) / (Double(b) * Double(n - 1))
                #expect(model.minibatchFactor == cB)
                #expect(Self.closeMatrices(model.diffusionMatrix(at: point), covariance.map { 0.1 / 2 * cB * $0 }, 1e-13))
            }
        }
    }

    @Test func withoutReplacementFactor() {
        for n in [2, 5, 64] {
            #expect(NoiseModel.minibatchFactor(batchSize: n, sampleCount: n, withReplacement: false) == 0)  // the full sum
            #expect(NoiseModel.minibatchFactor(batchSize: 1, sampleCount: n, withReplacement: false) == 1)  // one sample: Σ₁
            #expect(NoiseModel.minibatchFactor(batchSize: 1, sampleCount: n, withReplacement: true) == 1)
            for b in 1...n {
                #expect(NoiseModel.minibatchFactor(batchSize: b, sampleCount: n, withReplacement: true) == 1 / Double(b))
                #expect(MinibatchCurvature.samplingFactor(batchSize: b, sampleCount: n, withReplacement: false)
                        == NoiseModel.minibatchFactor(batchSize: b, sampleCount: n, withReplacement: false))
            }
        }
        #expect(NoiseModel.minibatchFactor(batchSize: 1, sampleCount: 1, withReplacement: false) == 0)
        // B = n without replacement: no noise at all
        let full = try! NoiseModel(dynamics: .sgdSDE(learningRate: 0.1, batchSize: 5, noise: .finiteSum, withReplacement: false),
                                   landscape: Self.regressionLandscape)
        #expect(full.diffusionMatrix(at: [0.3, 0.4]).allSatisfy { $0 == 0 })
    }

    @Test func heavyTailsHaveNoDiffusion() throws {
        let levy = try NoiseModel(dynamics: .levy(epsilon: 0.2, alpha: 1.5), landscape: Self.plane)
        #expect(!levy.hasDiffusion && !levy.isGaussian && levy.largeDeviationCovariance == nil)
        #expect(levy.alphaStable?.index == 1.5 && levy.alphaStable?.scale == 0.2)
        #expect(levy.stepNoise(stepSize: 0.01) == .alphaStable(alpha: 1.5, scale: 0.2 * pow(0.01, 1 / 1.5)))

        let eta = 0.1, sigma = 2.0, alpha = 1.5, b = 4
        let sde = try NoiseModel(dynamics: .sgdSDE(learningRate: eta, batchSize: b, noise: .alphaStable(sigma: sigma, alpha: alpha), withReplacement: true),
                                 landscape: Self.plane)
        // scale η^{(α−1)/α}·σ·B^{1/α−1} per unit time (Şimşekli et al. 2019)
        #expect(Self.close(sde.alphaStable!.scale, pow(eta, (alpha - 1) / alpha) * sigma * pow(Double(b), 1 / alpha - 1)))
        #expect(!sde.hasDiffusion && !sde.isGaussian)
        let chain = try NoiseModel(dynamics: .sgd(learningRate: eta, batchSize: b, noise: .alphaStable(sigma: sigma, alpha: alpha), withReplacement: true),
                                   landscape: Self.plane)
        #expect(!chain.bridgeTestApplies && !levy.bridgeTestApplies)
        #expect(Self.close(chain.alphaStable!.scale, eta * sigma * pow(Double(b), 1 / alpha - 1)))  // per iteration

        // Student t with ν ≤ 2: a valid chain, no diffusion; its SDE does not exist
        let heavyT = try NoiseModel(dynamics: .sgd(learningRate: eta, batchSize: 1, noise: .studentT(sigma: 1, degreesOfFreedom: 1.5), withReplacement: true),
                                    landscape: Self.plane)
        #expect(!heavyT.hasDiffusion && !heavyT.isGaussian)
        #expect(throws: DynamicsError.self) {
            try NoiseModel(dynamics: .sgdSDE(learningRate: eta, batchSize: 1, noise: .studentT(sigma: 1, degreesOfFreedom: 1.5), withReplacement: true),
                           landscape: Self.plane)
        }
    }

    /// Continuous steps have covariance 2·D·h (Euler–Maruyama); the chain's Gaussian step is
    /// η·σ/√B, and its Hessian-type steps carry η·η·c_B.
    @Test func stepNoiseMatchesTheDiffusion() throws {
        let eta = 0.05, sigma = 3.0, h = 0.001
        for b in [1, 3, 6] {
            let sde = try NoiseModel(dynamics: .sgdSDE(learningRate: eta, batchSize: b, noise: .gaussian(sigma: sigma), withReplacement: true),
                                     landscape: Self.plane)
            guard case .gaussian(let s) = sde.stepNoise(stepSize: h) else { Issue.record("not Gaussian"); continue }
            #expect(Self.close(s * s, 2 * sde.isotropicDiffusion! * h))
            let chain = try NoiseModel(dynamics: .sgd(learningRate: eta, batchSize: b, noise: .gaussian(sigma: sigma), withReplacement: true),
                                       landscape: Self.plane)
            #expect(chain.stepNoise(stepSize: h) == .gaussian(standardDeviation: eta * sigma / Double(b).squareRoot()))
            #expect(chain.isGaussian && !chain.bridgeTestApplies && sde.bridgeTestApplies)
            let hessian = try NoiseModel(dynamics: .sgd(learningRate: eta, batchSize: b, noise: .hessian(scale: 2), withReplacement: true),
                                         landscape: Self.plane)
            let expected = NoiseModel.StepNoise.stateDependent(law: .hessian(scale: 2), variance: eta * eta / Double(b))
            #expect(hessian.stepNoise(stepSize: h) == expected)
        }
        let minibatch = try NoiseModel(dynamics: .sgd(learningRate: eta, batchSize: 2, noise: .finiteSum, withReplacement: false),
                                       landscape: Self.regressionLandscape)
        #expect(minibatch.stepNoise(stepSize: h) == .minibatch(batchSize: 2, withReplacement: false))
        #expect(!minibatch.isGaussian && minibatch.isStateDependent)
        let covariance = try NoiseModel(dynamics: .sgdSDE(learningRate: eta, batchSize: 2, noise: .finiteSum, withReplacement: false),
                                        landscape: Self.regressionLandscape)
        #expect(covariance.stepNoise(stepSize: h) == .finiteSumCovariance(variance: eta * h * 3.0 / 8.0))  // c_B = (5−2)/(2·4)
    }

    @Test func badParametersThrow() {
        #expect(throws: DynamicsError.self) {
            try NoiseModel(dynamics: .sgd(learningRate: 0.1, batchSize: 1, noise: .finiteSum, withReplacement: true), landscape: Self.plane)
        }
        #expect(throws: DynamicsError.self) {
            try NoiseModel(dynamics: .sgd(learningRate: 0.1, batchSize: 6, noise: .finiteSum, withReplacement: false),
                           landscape: Self.regressionLandscape)
        }
        #expect(throws: DynamicsError.self) {
            try NoiseModel(dynamics: .sgd(learningRate: -0.1, batchSize: 1, noise: .gaussian(sigma: 1), withReplacement: true), landscape: Self.plane)
        }
        #expect(throws: DynamicsError.self) { try NoiseModel(dynamics: .levy(epsilon: 0.1, alpha: 2.5), landscape: Self.plane) }
    }
}

/// ℓᵢ(x) = x⁴/4 − x²/2 + aᵢx with a = (−a, 0, a): L is the double well (ΔV = 1/4 from −1
/// to 0) and Σ₁ = 2a²/3 everywhere, so the steepness is 2ΔV/Σ₁ exactly.
struct TiltedWells: FiniteSum {
    let tilt: Double
    var dimension: Int { 1 }
    var sampleCount: Int { 3 }
    func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        let x = theta[0]
        return x * x * x * x / 4 - x * x / 2 + Double(i - 1) * tilt * x
    }
    func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double, into g: UnsafeMutablePointer<Double>) {
        let x = theta[0]
        g[0] += scale * (x * x * x - x + Double(i - 1) * tilt)
    }
    func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale: Double, into h: UnsafeMutablePointer<Double>) {
        h[0] += scale * (3 * theta[0] * theta[0] - 1)
    }
}

extension NoiseModelTests {
    /// Minimum action's prediction carries the same c_B as the diffusion: exp(s/(η·c_B)),
    /// c_B = 1/B with replacement and (n−B)/(B(n−1)) = 1/4 without (n = 3, B = 2).
    @Test func minimumActionUsesTheMinibatchFactor() throws {
        let landscape = Landscape(finiteSum: TiltedWells(tilt: 1.5), summary: "tilted wells")
        let eta = 0.5
        var exponents: [Double] = []
        for replacement in [true, false] {
            let problem = try ExitProblem(landscape: landscape,
                                          dynamics: .sgd(learningRate: eta, batchSize: 2, noise: .finiteSum, withReplacement: replacement),
                                          dt: 0.01, start: [-1], exit: .condition("x > 0"), maxSteps: 1000)
            let reference = try MinimumActionReference(problem: problem, saddle: nil)
            // 1-D action 2∫V'/Σ₁ by quadrature: ≪ 1e-6 of 2·(1/4)/1.5 = 1/3
            #expect(abs(reference.barrier - 1.0 / 3) < 1e-6)
            exponents.append(eta * log(eta * reference.prediction) / reference.barrier)  // 1/c_B
        }
        #expect(Self.close(exponents[0], 2, 1e-12) && Self.close(exponents[1], 4, 1e-12), "\(exponents)")
    }
}
