import Foundation

extension NoiseLaw {
    /// `count` i.i.d. draws of the minibatch gradient noise of this law in `dimension`
    /// coordinates (count × dimension, row-major), as `sgd` adds it (`NoiseLaw`'s cases):
    /// gaussian `σξ/√B`; student-t `σ·(1/B)Σ t_ν` per coordinate; alpha-stable
    /// `σ B^{1/α−1} ζ`, ζ standard SαS (`gsl_ran_levy`, E e^{itζ} = e^{−|t|^α}). nil for the
    /// state-dependent laws (hessian, loss-proportional, finite-sum), whose noise depends on
    /// the point: use `FiniteSum.minibatchGradientNoise` for a finite sum's own.
    public func minibatchNoise(dimension d: Int, batchSize b: Int, count: Int, stream: RandomStream) -> [Double]? {
        precondition(d >= 1 && b >= 1 && count >= 0)
        let total = count * d
        switch self {
        case .gaussian(let sigma):
            let s = sigma / Double(b).squareRoot()
            return (0..<total).map { _ in s * stream.normal() }
        case .studentT(let sigma, let nu):
            let s = sigma / Double(b)
            return (0..<total).map { _ in
                var sum = 0.0
                for _ in 0..<b { sum += stream.studentT(degreesOfFreedom: nu) }
                return s * sum
            }
        case .alphaStable(let sigma, let alpha):
            let s = sigma * pow(Double(b), 1 / alpha - 1)
            return (0..<total).map { _ in s * stream.symmetricStable(alpha: alpha) }
        case .hessian, .lossProportional, .finiteSum:
            return nil
        }
    }
}
