import Diffusion

/// `method = "tail-index"`: the tail index α of the minibatch gradient noise at the start
/// point — the finite sum's own ∇L_B(θ) − ∇L(θ), or i.i.d. draws of a noise law — by the
/// block-sum estimator of Mohammadi, Mohammadpour & Ohta (2015) as used by Şimşekli et al.
/// (2019) (`TailIndex`, docs/THEORY.md §4). `paths` is the number of noise vectors drawn.
public struct TailIndexMethod: ExperimentMethod {
    public static let name = "tail-index"
    public static let kind = MethodKind.sampling
    public static let summary = "tail index α̂ of the minibatch gradient noise at the start (block-sum estimator ± SE)"
    public static let keys = ["paths", "block_size", "pooling"]
    public static let dynamics: [DynamicsKind]? = [.sgd]
    public static let simulationKeysNotApplicable = "independent noise draws at the start point"
    static let drawableLaws: [NoiseLawKind] = [.finiteSum, .gaussian, .studentT, .alphaStable]

    public let pooling: TailIndexPooling

    public init(reading r: inout TableReader, landscape: Landscape) throws(SpecError) {
        let pooling = try r.string("pooling", allowed: TailIndexPooling.allCases.map(\.rawValue))
        self.pooling = pooling.flatMap(TailIndexPooling.init(rawValue:)) ?? .flattened
    }

    public mutating func finish(_ r: inout TableReader, _ x: inout ExperimentDraft) throws(SpecError) {
        guard let law = x.noiseLaw, Self.drawableLaws.contains(law) else {
            throw r.error("method", "\(Self.quoted) draws the minibatch noise of a finite sum or of a \(Self.drawableLaws.dropFirst().map(\.rawValue).joined(separator: ", ")) law; \(x.noiseLaw?.quoted ?? "this one") depends on the point")
        }
        try x.axis("block_size", try r.sweep("block_size"), r) { $0 >= 2 && $0 == $0.rounded() && $0 < 1e9 ? nil : "an integer ≥ 2" }
    }

    public func check(_ cell: MethodCell) throws(SpecError) {
        guard case .sgd(_, let batch, .finiteSum, false) = cell.problem.dynamics, let sum = cell.problem.landscape.finiteSum else { return }
        if batch > sum.sampleCount {
            throw cell.error("batch_size", "must be ≤ the number of samples (\(sum.sampleCount)) without replacement, got \(batch)")
        }
    }

    public func run(_ cell: MethodCell, sink: (any CellSampleSink)?) throws -> MethodOutput {
        let problem = cell.problem
        let d = problem.landscape.dimension
        let paths = cell.paths
        let stream = RandomStream(key: StreamKey(seed: cell.spec.seed, experiment: cell.experimentIndex, cell: cell.cellIndex))
        guard let (draws, source) = TailIndex.minibatchNoiseDraws(problem, count: paths, stream: stream) else {
            throw CellFailure("method \(Self.quoted) cannot draw this noise law without a point")
        }
        let blockSize = cell.value("block_size").map { Int($0) }
        guard let (estimate, _) = TailIndex.estimate(vectors: draws, dimension: d, pooling: pooling, blockSize: blockSize) else {
            throw CellFailure("tail index: \(paths) noise vectors (\(pooling == .flattened ? paths * d : paths) samples per estimate) do not fill two blocks\(blockSize.map { " of \($0)" } ?? ""), or a draw is exactly 0 (noise-free at the start point?)")
        }
        let estimator = "tail index α̂ by the block-sum estimator of Mohammadi, Mohammadpour & Ohta (2015), as in Şimşekli et al. (2019) (docs/THEORY.md §4): 1/α̂ = (mean log|block sums| − mean log|samples|)/log m, m = \(estimate.blockSize), \(estimate.blocks) blocks; \(pooling == .flattened ? "all coordinates pooled" : "per coordinate, averaged"); of \(source); 1/α̂ is unbiased for 1/α on SαS samples, SE from the i.i.d. block statistics, α̂'s by the delta method"
        return MethodOutput(
            estimate: ExitTimeEstimate(endStates: ExitSamples(dimension: d, count: 0), termCount: problem.exitTerms.count, estimator: estimator),
            quantities: [("tail_index", estimate.alpha), ("tail_index_standard_error", estimate.alphaStandardError),
                         ("inverse_tail_index", estimate.inverseAlpha),
                         ("inverse_tail_index_standard_error", estimate.inverseAlphaStandardError),
                         ("block_size", Double(estimate.blockSize)), ("blocks", Double(estimate.blocks))],
            maxSteps: 1)
    }
}
