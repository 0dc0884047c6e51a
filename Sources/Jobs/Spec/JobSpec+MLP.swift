import Foundation
import Diffusion

extension JobSpec {
    /// `builtin = "mlp"`: a fully connected network (`MLP`, docs/THEORY.md §7) on a data set
    /// read from CSV — feature columns, the label or target in the last column, an optional
    /// header row (`SampleCSV`). A last column of integers is a class label (its distinct
    /// values, sorted, are classes 0, 1, …) and the loss is softmax cross-entropy; a real last
    /// column is a regression target with square loss (`loss` overrides); `target` picks
    /// another column by its header name or 1-based number. Features (and a regression
    /// target) are standardised (mean 0, standard deviation 1 over the samples) unless
    /// `standardize = false`. Defaults: one hidden layer of width 32, ReLU, biases, sharpness k = 1
    /// (Ibayashi & Imaizumi 2022's knob: θ = W/√k, the same functions with the Hessian ×k).
    static func mlp(_ l: inout TableReader, baseDirectory: URL?) throws(SpecError) -> Landscape {
        guard let path = try l.string("csv") else {
            throw l.error("csv", "is required: a CSV file of features with the label or target in the last column (e.g. \"datasets/wine.csv\")")
        }
        let url = URL(fileURLWithPath: path, relativeTo: baseDirectory)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw l.error("csv", "cannot read file \"\(url.path.shortened())\"")
        }
        let table: SampleCSV
        do { table = try SampleCSV(text: text, name: url.lastPathComponent) } catch { throw l.error("csv", error.message) }
        guard table.dimension >= 2 else { throw l.error("csv", "\(url.lastPathComponent): need at least one feature column and a label or target column") }
        let n = table.count, p = table.dimension - 1
        guard n * table.dimension <= 10_000_000 else { throw l.error("csv", "\(url.lastPathComponent) holds \(n)×\(table.dimension) values; at most 10000000") }

        let hidden: [Int]
        if let widths = try l.vector("hidden") {
            guard widths.allSatisfy({ $0 == $0.rounded() && $0 >= 1 && $0 <= 100_000 }) else {
                throw l.error("hidden", "must be an array of layer widths (integers in 1...100000), got \(widths.map(TableReader.format))")
            }
            hidden = widths.map { Int($0) }
        } else {
            hidden = [32]
        }
        let activation = try l.string("activation", allowed: MLP.Activation.allCases.map(\.rawValue)) ?? "relu"
        let bias = try l.bool("bias") ?? true
        let standardize = try l.bool("standardize") ?? true
        let k = try l.double("sharpness") ?? 1
        guard k > 0, k.isFinite else { throw l.error("sharpness", "must be a number > 0 (the knob k: weights stored as W/√k), got \(TableReader.format(k))") }
        let lossName = try l.string("loss", allowed: ["auto"] + MLP.Loss.allCases.map(\.rawValue)) ?? "auto"
        // the label or target column: the last, or one named by its header or 1-based number
        var targetColumn = p
        if let node = l.node("target") {
            switch node.value {
            case .string(let name):
                guard let k = table.columns?.firstIndex(of: name) else {
                    let known = table.columns.map { "one of its header's columns (\($0.map { "\"\($0.shortened(30))\"" }.joined(separator: ", ").shortened(200)))" } ?? "a column number (the file has no header)"
                    throw l.error("target", "must name \(known), got \"\(name.shortened())\"", line: node.line)
                }
                targetColumn = k
            case .integer(let k):
                guard k >= 1, k <= table.dimension else { throw l.error("target", "must be a column number in 1...\(table.dimension), got \(k)", line: node.line) }
                targetColumn = k - 1
            default:
                throw l.error("target", "must be a column's header name or its 1-based number, got \(node.value.typeName)", line: node.line)
            }
        }
        try l.rejectUnknown(allowed: ["builtin", "csv", "target", "hidden", "activation", "bias", "standardize", "sharpness", "loss"])

        var inputs = [Double](repeating: 0, count: n * p)
        var labels = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var j = 0
            for column in 0...p {
                let x = table.values[i * (p + 1) + column]
                if column == targetColumn { labels[i] = x } else { inputs[i * p + j] = x; j += 1 }
            }
        }
        let integral = labels.allSatisfy { $0 == $0.rounded() && abs($0) < 1e9 }
        let loss: MLP.Loss
        switch lossName {
        case "auto": loss = integral ? .crossEntropy : .square
        default: loss = MLP.Loss(rawValue: lossName)!
        }
        let outputs: Int
        var targets = labels
        var classNote = ""
        if loss == .crossEntropy {
            guard integral else { throw l.error("loss", "\"cross-entropy\" needs integer class labels in the last column of \(url.lastPathComponent)") }
            let classes = Array(Set(labels)).sorted()
            guard classes.count >= 2 else { throw l.error("csv", "\(url.lastPathComponent): the label column holds one class; classification needs at least two") }
            guard classes.count <= 10_000 else { throw l.error("csv", "\(url.lastPathComponent): \(classes.count) classes; at most 10000") }
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Double($0)) })
            targets = labels.map { index[$0]! }
            outputs = classes.count
            classNote = ", \(classes.count) classes"
        } else {
            outputs = 1
            // a regression target to mean 0, standard deviation 1 as well
            if standardize { Self.standardize(&targets, column: 0, columns: 1) }
        }
        if standardize { for j in 0..<p { Self.standardize(&inputs, column: j, columns: p) } }
        let sizes = [p] + hidden + [outputs]
        var parameters = 0
        for l in 1..<sizes.count { parameters += sizes[l] * sizes[l - 1] + (bias ? sizes[l] : 0) }
        guard parameters <= 2_000_000 else {
            throw l.error("hidden", "gives \(parameters) parameters; at most 2000000")
        }
        let model = MLP(inputs: inputs, sampleCount: n, targets: targets, hiddenWidths: hidden, outputs: outputs,
                        activation: MLP.Activation(rawValue: activation)!, bias: bias, loss: loss, sharpness: k)
        let shape = sizes.map(String.init).joined(separator: "–")
        let targetNote = targetColumn == p ? "" : ", target \(table.columns?[targetColumn].shortened(40) ?? "column \(targetColumn + 1)")"
        return Landscape(finiteSum: model, criticalPoints: [],
                         summary: "MLP \(shape) (\(activation)\(bias ? "" : ", no biases"), d = \(model.dimension)) on \(url.lastPathComponent) (n = \(n)\(classNote)\(targetNote)), \(loss.rawValue) loss\(standardize ? ", standardised features" : ""), sharpness k = \(TableReader.format(k))")
    }
}

extension JobSpec {
    /// Column `column` of a row-major table with `columns` columns to mean 0 and (population)
    /// standard deviation 1; a constant column becomes 0 (it carries nothing).
    static func standardize(_ values: inout [Double], column: Int, columns: Int) {
        let n = values.count / columns
        var mean = 0.0
        for i in 0..<n { mean += values[i * columns + column] }
        mean /= Double(n)
        var variance = 0.0
        for i in 0..<n { variance += (values[i * columns + column] - mean) * (values[i * columns + column] - mean) }
        let sd = (variance / Double(n)).squareRoot()
        for i in 0..<n { values[i * columns + column] = sd > 0 ? (values[i * columns + column] - mean) / sd : 0 }
    }

    /// `start = { train = { steps = N, learning_rate = η } }`: deterministic full-batch
    /// gradient descent (`Landscape.gradientDescent`) to a minimum first, from `start.point`
    /// or, for `builtin = "mlp"`, from its initial parameters (`MLP.initialParameters`,
    /// `init_seed`, default 1). For an MLP with sharpness k ≠ 1 the network is trained at
    /// k = 1 and the result divided by √k (Ibayashi & Imaizumi 2022's protocol: one trained
    /// function, the same minimum at every k, its Hessian ×k), so a sweep over k starts every
    /// cell at the same function. That k = 1 training is computed once per process and kept
    /// (`TrainedStarts`); a run that stops being finite is an error naming the step.
    static func trainedStart(_ s: inout TableReader, landscape: Landscape) throws(SpecError) -> (point: [Double], note: String?) {
        guard var t = try s.table("train") else { throw s.error("train", "must be a table: train = { steps = N, learning_rate = η }") }
        guard let steps = try t.integer("steps") else { throw t.error("steps", "is required: the number of gradient-descent steps") }
        guard steps >= 1, steps <= 10_000_000 else { throw t.error("steps", "must be in 1...10000000, got \(steps)") }
        guard let eta = try t.double("learning_rate") else { throw t.error("learning_rate", "is required: the gradient-descent step size") }
        guard eta > 0, eta.isFinite else { throw t.error("learning_rate", "must be a number > 0, got \(TableReader.format(eta))") }
        let seed = try t.integer("init_seed")
        let newton = try t.bool("newton") ?? false
        try t.rejectUnknown(allowed: ["steps", "learning_rate", "init_seed", "newton"])
        let given = try s.vector("point")
        try s.rejectUnknown(allowed: ["train", "point"])
        let mlp = landscape.finiteSum as? MLP
        var trained = landscape
        var from: [Double]
        var origin: String
        var scale = 1.0
        // the k = 1 network trained from its initial parameters is shared by every k of a
        // sweep: kept per process; a start from a given point is trained where it is asked
        var cacheKey: String? = nil
        if let given {
            guard seed == nil else { throw t.error("init_seed", "applies only without start.point (an MLP's initial parameters)") }
            guard given.count == landscape.dimension, given.allSatisfy(\.isFinite) else {
                throw s.error("point", "must have \(landscape.dimension) finite coordinates, got \(given.count)")
            }
            from = given
            origin = "start.point"
        } else if let mlp {
            let unit = mlp.withSharpness(1)
            trained = Landscape(finiteSum: unit, summary: landscape.summary)
            from = unit.initialParameters(seed: UInt64(seed ?? 1))
            origin = "initial parameters (init_seed \(seed ?? 1))"
            scale = 1 / mlp.sharpness.squareRoot()
            cacheKey = TrainedStarts.identity(unit)
        } else {
            throw s.error("train", "needs start.point (where gradient descent starts), or builtin = \"mlp\" (its initial parameters)")
        }
        let result = cacheKey.map { TrainedStarts.shared.result(landscape: trained, key: $0, from: from, steps: steps, learningRate: eta) }
            ?? trained.gradientDescent(from: from, steps: steps, learningRate: eta)
        if let bad = result.divergedAt {
            throw t.error("learning_rate", "\(TableReader.format(eta)): gradient descent left the finite numbers at step \(bad) (loss \(TableReader.format(result.loss)) before); lower it")
        }
        var note = "trained: \(steps) gradient-descent steps at η = \(TableReader.format(eta)) from \(origin); L = \(String(format: "%.4g", result.loss)), ‖∇L‖ = \(String(format: "%.3g", result.gradientNorm))"
        var point = result.point
        if newton {
            // the minimum itself: damped Newton on ∇L from where gradient descent stopped
            guard trained.dimension <= newtonDimensionLimit else {
                throw t.error("newton", "needs at most \(newtonDimensionLimit) parameters (dense Hessians), the landscape has \(trained.dimension)")
            }
            let found: CriticalPoint?
            do { found = try CriticalPointFinder.find(on: trained, near: result.point) } catch { throw t.error("newton", "\(error)") }
            guard let found, found.kind == .minimum else {
                throw t.error("newton", "found no minimum near where gradient descent stopped (\(found.map { "a \($0.label)" } ?? "Newton did not converge"), ‖∇L‖ = \(String(format: "%.3g", result.gradientNorm)) there); train longer")
            }
            point = found.point
            let gradient = trained.gradient(at: point).reduce(0) { $0 + $1 * $1 }.squareRoot()
            note += "; then Newton to the \(found.label) (L = \(String(format: "%.6g", found.value)), ‖∇L‖ = \(String(format: "%.2g", gradient)), ‖Δθ‖ = \(String(format: "%.3g", zip(point, result.point).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot())))"
        }
        if scale != 1 { note += "; divided by √k" }
        return (point.map { $0 * scale }, note)
    }
}

/// Newton polishing of a trained start forms d×d Hessians: at most this many parameters.
let newtonDimensionLimit = 1024

/// Trained starts computed in this process, by landscape, start and schedule (a sweep over an
/// MLP's sharpness trains its k = 1 network once). Thread-safe.
final class TrainedStarts: @unchecked Sendable {
    static let shared = TrainedStarts()
    private let lock = NSLock()
    private var results: [String: GradientDescentResult] = [:]

    /// An MLP's architecture, data and sharpness (a process-local key).
    static func identity(_ mlp: MLP) -> String {
        var h = ResultsStore.FNV()
        for x in mlp.inputs { h.add(x.bitPattern) }
        for y in mlp.targets { h.add(y.bitPattern) }
        return "mlp \(mlp.layerSizes) \(mlp.activation.rawValue) \(mlp.bias) \(mlp.loss.rawValue) k \(mlp.sharpness.bitPattern) \(h.hex)"
    }

    func result(landscape: Landscape, key: String, from: [Double], steps: Int, learningRate: Double) -> GradientDescentResult {
        var h = ResultsStore.FNV()
        for x in from { h.add(x.bitPattern) }
        let full = "\(key)|\(h.hex)|\(steps)|\(learningRate.bitPattern)"
        lock.lock()
        if let done = results[full] { lock.unlock(); return done }
        lock.unlock()
        let result = landscape.gradientDescent(from: from, steps: steps, learningRate: learningRate)
        lock.lock(); results[full] = result; lock.unlock()
        return result
    }
}
