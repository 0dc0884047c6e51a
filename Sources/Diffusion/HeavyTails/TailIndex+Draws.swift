extension TailIndex {
    /// `count` draws of the minibatch gradient noise of `problem` (discrete `sgd`) at its
    /// start point, `dimension` values each, with a description of what was drawn: a finite
    /// sum's own ∇L_B(θ) − ∇L(θ) (with or without replacement), or i.i.d. draws of the noise
    /// law's minibatch mean. Nil for a law whose noise depends on the point (hessian,
    /// loss-proportional) or for dynamics other than `sgd`. Without replacement B ≤ n is required.
    public static func minibatchNoiseDraws(_ problem: ExitProblem, count: Int, stream: RandomStream)
        -> (draws: [Double], source: String)? {
        guard case .sgd(_, let batch, let noise, let replacement) = problem.dynamics else { return nil }
        if case .finiteSum = noise {
            guard let sum = problem.landscape.finiteSum, replacement || batch <= sum.sampleCount else { return nil }
            let draws = sum.minibatchGradientNoise(at: problem.start, batchSize: batch, withReplacement: replacement,
                                                   count: count, stream: stream)
            return (draws, "the minibatch gradient noise ∇L_B(θ) − ∇L(θ) of the finite sum at the start point (B = \(batch), \(replacement ? "with" : "without") replacement)")
        }
        guard let draws = noise.minibatchNoise(dimension: problem.landscape.dimension, batchSize: batch, count: count, stream: stream) else {
            return nil
        }
        return (draws, "i.i.d. draws of the noise law's minibatch noise (B = \(batch))")
    }
}
