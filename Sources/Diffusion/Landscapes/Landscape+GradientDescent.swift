/// Deterministic full-batch gradient descent, the "train to a minimum first" start of a job
/// (`start.train`, docs/reference.md): θ_{t+1} = θ_t − η ∇L(θ_t), t = 0…steps−1, with the
/// landscape's exact gradient (for a finite sum the mean of all per-sample gradients).
public struct GradientDescentResult: Sendable, Equatable {
    /// θ after the last step (the start of the exit-time experiment).
    public let point: [Double]
    /// L and ‖∇L‖₂ there.
    public let loss: Double
    public let gradientNorm: Double
    /// The step at which the iterate first stopped being finite, if it did (then `point` is
    /// the last finite iterate and the run is a failure to report, not a start).
    public let divergedAt: Int?
    public let steps: Int
}

extension Landscape {
    /// `steps` steps of gradient descent with learning rate η from `start`. Stops at the
    /// first non-finite iterate (`divergedAt`). Costs `steps` full gradients.
    public func gradientDescent(from start: [Double], steps: Int, learningRate eta: Double) -> GradientDescentResult {
        precondition(start.count == dimension && steps >= 0 && eta > 0)
        var theta = start
        var next = theta
        for t in 0..<steps {
            let g = gradient(at: theta)
            var finite = true
            for j in 0..<dimension {
                next[j] = theta[j] - eta * g[j]
                if !next[j].isFinite { finite = false }
            }
            if !finite {
                return GradientDescentResult(point: theta, loss: value(at: theta), gradientNorm: norm(gradient(at: theta)),
                                             divergedAt: t + 1, steps: steps)
            }
            swap(&theta, &next)
        }
        return GradientDescentResult(point: theta, loss: value(at: theta), gradientNorm: norm(gradient(at: theta)),
                                     divergedAt: nil, steps: steps)
    }

    private func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}
