/// A one-output, square-loss `MLP` seen as a `SquareLossFiniteSum`, so the dense
/// `localGeometry(at:)` (and anything else that asks for the model output) builds the
/// Gauss–Newton matrix `G = (1/n) Σ ∇uᵢ∇uᵢᵀ` of Wu, Wang & Su rather than falling back to
/// G := H. `MLP` itself cannot conform: its cross-entropy and multi-output cases have no
/// scalar residual.
public struct MLPScalarSquareLoss: SquareLossFiniteSum {
    public let network: MLP

    /// nil unless `network.loss == .square` and it has one output.
    public init?(_ network: MLP) {
        guard network.loss == .square && network.outputCount == 1 else { return nil }
        self.network = network
    }

    public var dimension: Int { network.dimension }
    public var sampleCount: Int { network.sampleCount }

    public func sampleLoss(_ i: Int, at theta: UnsafePointer<Double>) -> Double { network.sampleLoss(i, at: theta) }

    public func addSampleGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        network.addSampleGradient(i, at: theta, scale: scale, into: g)
    }

    public func addSampleHessian(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                 into h: UnsafeMutablePointer<Double>) {
        network.addSampleHessian(i, at: theta, scale: scale, into: h)
    }

    /// `rᵢ = uᵢ − yᵢ`.
    public func residual(_ i: Int, at theta: UnsafePointer<Double>) -> Double {
        var u = 0.0
        network.output(i, at: theta, into: &u)
        return u - network.targets[i]
    }

    /// `g += scale·∇uᵢ` (one backward pass with δ_L = 1).
    public func addOutputGradient(_ i: Int, at theta: UnsafePointer<Double>, scale: Double,
                                  into g: UnsafeMutablePointer<Double>) {
        var one = 1.0
        network.addOutputVectorJacobianProduct(i, at: theta, cotangent: &one, scale: scale, into: g)
    }
}
