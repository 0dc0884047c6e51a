import Foundation

/// The exact mean exit time of a 1-D problem's diffusion — `langevin`, or the SDE of
/// `sgd`/`sgd-sde` (`D(x) = η Σ_B(x)/2`, THEORY.md §0) — by the second-order grid solve
/// of 𝓛T = −1 (`Grid1D.meanExitTime`), with Richardson extrapolation over n and 2n − 1
/// nodes and its error estimate. For `sgd` this is the SDE's prediction converted to
/// iterations t/η: what the discrete chain would do if the diffusion approximation held.
/// Exit sides must be `x > b` / `x < a`; an open side becomes a reflecting end where the
/// diffusion never goes (V − V(start) above 40·max D).
public struct BackwardKolmogorovReference: Sendable {
    public let time: Double
    public let timeError: Double
    public let nodes: Int
    public let lower: Double
    public let upper: Double

    public init(problem: ExitProblem, form: FokkerPlanckForm, nodes: Int = 4001) throws {
        let landscape = problem.landscape
        guard landscape.dimension == 1 else {
            throw GridError("method \"backward-kolmogorov\" is implemented for 1-D landscapes")
        }
        let diffusion = try BackwardKolmogorovReference.diffusion(problem)
        let (lower, upper) = try TheoryReference.boundaries(problem)
        guard lower != nil || upper != nil else { throw GridError("method \"backward-kolmogorov\" needs an exit boundary") }
        let x0 = problem.start[0]
        let scale = max(diffusion(x0), 1e-12)
        func truncation(_ direction: Double) throws -> Double {
            let v0 = landscape.value(at: [x0])
            var step = 1e-3, x = x0
            while abs(x - x0) < 1e3 {
                x += direction * step
                step *= 1.1
                if landscape.value(at: [x]) - v0 > 40 * max(scale, diffusion(x)) && direction * landscape.gradient(at: [x])[0] > 0 { return x }
            }
            throw GridError("method \"backward-kolmogorov\": the landscape does not confine the diffusion on the open side; add an exit boundary there")
        }
        let lo = try lower ?? truncation(-1), hi = try upper ?? truncation(1)
        guard lo < x0, x0 < hi else { throw GridError("the start must lie strictly inside the exit boundaries") }
        let p = Diffusion1D(slope: { landscape.gradient(at: [$0])[0] }, diffusion: diffusion,
                            potential: { landscape.value(at: [$0]) }, form: form)
        let m = nodes | 1
        func solve(_ n: Int) throws -> Double {
            try Grid1D.meanExitTime(p, lower: lo, upper: hi, lowerBoundary: lower == nil ? .reflecting : .absorbing,
                                    upperBoundary: upper == nil ? .reflecting : .absorbing, nodes: n)(x0)
        }
        let fine = try solve(m), coarse = try solve((m + 1) / 2)
        var t = (4 * fine - coarse) / 3
        var error = abs(fine - coarse) / 3
        if case .sgd(let eta, _, _, _) = problem.dynamics { t /= eta; error /= eta }
        time = t
        timeError = error
        self.nodes = m
        self.lower = lo
        self.upper = hi
    }

    /// D(x) of the problem's diffusion (THEORY.md §0): ε for Langevin; η Σ_B(x)/2 for SGD's SDE.
    static func diffusion(_ problem: ExitProblem) throws -> @Sendable (Double) -> Double {
        let landscape = problem.landscape
        switch problem.dynamics {
        case .langevin(let eps):
            return { _ in eps }
        case .levy:
            throw GridError("method \"backward-kolmogorov\" needs Gaussian noise; levy dynamics have a non-local generator")
        case .sgd(let eta, let b, let noise, let replacement), .sgdSDE(let eta, let b, let noise, let replacement):
            let bb = Double(b)
            switch noise {
            case .gaussian(let s): return { _ in eta * s * s / (2 * bb) }
            case .studentT(let s, let nu):
                guard nu > 2 else { throw GridError("student-t noise needs nu > 2 for a diffusion approximation") }
                return { _ in eta * s * s * nu / (nu - 2) / (2 * bb) }
            case .alphaStable:
                throw GridError("method \"backward-kolmogorov\" needs Gaussian noise; alpha-stable noise has a non-local generator")
            case .hessian(let c):
                return { x in eta * c * max(landscape.hessian(at: [x])[0], 0) / (2 * bb) }
            case .lossProportional(let c):
                return { x in eta * 2 * c * max(landscape.value(at: [x]), 0) * max(landscape.hessian(at: [x])[0], 0) / (2 * bb) }
            case .finiteSum:
                guard let fs = landscape.finiteSum else { throw GridError("noise law finite-sum needs a finite-sum landscape") }
                let n = Double(fs.sampleCount)
                let factor = replacement ? 1 / bb : (fs.sampleCount > 1 ? (n - bb) / (bb * (n - 1)) : 0)
                return { x in
                    var theta = [x], mean = [0.0], cov = [0.0], scratch = [0.0]
                    theta.withUnsafeMutableBufferPointer { t in
                        fs.gradientCovariance(at: t.baseAddress!, mean: &mean, covariance: &cov, scratch: &scratch)
                    }
                    return eta * factor * cov[0] / 2
                }
            }
        }
    }
}
