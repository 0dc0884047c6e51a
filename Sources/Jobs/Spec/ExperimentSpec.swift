import Foundation
import Diffusion

/// One `[[experiment]]`: dynamics, method, fixed settings and sweep axes. A parameter
/// given as an array is a sweep axis; several axes give their product, the first axis
/// varying slowest.
public struct ExperimentSpec: Sendable {
    public let index: Int
    public let name: String
    public let dynamics: String
    public let method: String
    /// Sweep axes and single values, in the order the keys appear: (key, values).
    public let parameters: [(key: String, values: [Double])]
    public let noiseLaw: String?
    public let withReplacement: Bool
    public let exitTest: ExitTestKind
    public let line: Int?
    /// method = "theory": the formula, and the saddle when given.
    public let theory: String?
    public let saddle: [Double]?
    /// method = "backward-kolmogorov": the Fokker–Planck form and the grid size.
    public let fokkerPlanck: FokkerPlanckForm
    public let nodes: Int
    /// 2-D backward-kolmogorov: the reflecting box of the grid.
    public let domain: Grid2D.Box?
    /// method = "tail-index": how noise vectors become scalar samples.
    public let pooling: TailIndexPooling

    public var cellCount: Int { parameters.reduce(1) { $0 * $1.values.count } }

    /// The parameter values of cell `k` (row-major over the axes, first axis slowest).
    public func cellParameters(_ k: Int) -> [(key: String, value: Double)] {
        var rest = k
        var result: [(String, Double)] = Array(repeating: ("", 0), count: parameters.count)
        for a in stride(from: parameters.count - 1, through: 0, by: -1) {
            let n = parameters[a].values.count
            result[a] = (parameters[a].key, parameters[a].values[rest % n])
            rest /= n
        }
        return result.map { (key: $0.0, value: $0.1) }
    }

    /// Keys each dynamics accepts; anything else in the table is an error.
    static let keysByDynamics: [String: [String]] = [
        "langevin": ["epsilon", "dt"],
        "levy": ["epsilon", "alpha", "dt"],
        "sgd": ["learning_rate", "batch_size", "replacement", "noise"],
        "sgd-sde": ["learning_rate", "batch_size", "replacement", "noise", "dt", "dt_fraction"],
    ]
    static let commonKeys = ["name", "dynamics", "method", "paths", "max_steps", "exit_test"]
    static let noiseKeys: [String: [String]] = [
        "gaussian": ["sigma"], "student-t": ["sigma", "nu"], "alpha-stable": ["sigma", "alpha"],
        "hessian": ["scale"], "loss-proportional": ["scale"], "finite-sum": [],
    ]

    init(_ table: SpecTable, index: Int, landscape: Landscape) throws(SpecError) {
        self.index = index
        self.line = table.line
        let path = "experiment[\(index + 1)]"
        var probe = TableReader(table, path: path)
        let name = try probe.string("name", required: true)!
        guard !name.isEmpty else { throw probe.error("name", "must not be empty") }
        self.name = name
        var r = TableReader(table, path: path, context: "experiment '\(name)'")
        _ = try r.string("name")
        let dynamics = try r.string("dynamics", required: true, allowed: JobSpec.dynamicsNames)!
        self.dynamics = dynamics
        let method = try r.string("method") ?? "monte-carlo"
        if JobSpec.plannedMethods.contains(method) {
            throw r.error("method", "\"\(method)\" is not implemented yet; this version runs \(JobSpec.methodNames.map { "\"\($0)\"" }.joined(separator: " and "))")
        }
        guard JobSpec.methodNames.contains(method) else {
            throw r.error("method", "must be one of \(JobSpec.methodNames.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(method)\"")
        }
        let sampling = method == "convergence" || method == "tail-index"
        if sampling {
            // Monte Carlo without exit times: `paths` apply, the exit-time controls do not
            for key in ["max_steps", "exit_test", "dt", "dt_fraction"] where table[key] != nil {
                throw r.error(key, "does not apply to method \"\(method)\"\(method == "convergence" ? " (a fixed number of SGD iterations: use steps)" : " (independent noise draws at the start point)")")
            }
            guard dynamics == "sgd" else {
                throw r.error("method", "\"\(method)\" is for dynamics \"sgd\", got \"\(dynamics)\"")
            }
        } else if method != "monte-carlo" {
            let continuous = method != "chain"
            let deterministic = continuous ? ["paths", "max_steps", "exit_test", "dt", "dt_fraction"] : ["paths", "max_steps", "exit_test"]
            for key in deterministic where table[key] != nil {
                throw r.error(key, "does not apply to method \"\(method)\" (\(continuous ? "a deterministic result for the continuous dynamics" : "a deterministic solve of the step-checked chain"))")
            }
        }
        if method == "minimum-action" {
            self.theory = nil
            let saddle = try r.vector("saddle")
            if let saddle, saddle.count != landscape.dimension { throw r.error("saddle", "must have \(landscape.dimension) coordinates, got \(saddle.count)") }
            self.saddle = saddle
        } else if method == "theory" {
            self.theory = try r.string("theory", required: true, allowed: TheoryReference.names)
            let saddle = try r.vector("saddle")
            if let saddle, saddle.count != landscape.dimension && !(r.table["theory"].map { if case .string("hu-saddle") = $0.value { true } else { false } } ?? false) {
                throw r.error("saddle", "must have \(landscape.dimension) coordinates, got \(saddle.count)")
            }
            self.saddle = saddle
        } else {
            self.theory = nil
            self.saddle = nil
        }
        if method == "backward-kolmogorov" {
            let form = try r.string("fokker_planck", allowed: ["ito", "divergence"]) ?? "ito"
            self.fokkerPlanck = FokkerPlanckForm(rawValue: form)!
            let twoD = landscape.dimension == 2
            let nodes = try r.integer("nodes") ?? (twoD ? 257 : 4001)
            let range = twoD ? 11...2049 : 11...1_000_001
            guard range.contains(nodes) else { throw r.error("nodes", "must be in \(range.lowerBound)...\(range.upperBound), got \(nodes)") }
            self.nodes = nodes
            if var box = try r.table("domain") {
                guard twoD else { throw r.error("domain", "applies to 2-D landscapes only (1-D truncates open sides itself)") }
                guard let lo = try box.vector("lower"), lo.count == 2 else { throw box.error("lower", "is required: [x0, y0]") }
                guard let hi = try box.vector("upper"), hi.count == 2 else { throw box.error("upper", "is required: [x1, y1]") }
                guard lo[0] < hi[0], lo[1] < hi[1] else { throw box.error("upper", "must exceed lower in both coordinates, got \(lo) and \(hi)") }
                try box.rejectUnknown(allowed: ["lower", "upper"])
                self.domain = Grid2D.Box(x0: lo[0], x1: hi[0], y0: lo[1], y1: hi[1])
            } else {
                guard !twoD else { throw r.error("domain", "is required for a 2-D backward-kolmogorov solve: domain = { lower = [x0, y0], upper = [x1, y1] } (reflecting box)") }
                guard landscape.dimension == 1 else { throw r.error("method", "\"backward-kolmogorov\" is implemented for 1-D and 2-D landscapes, this one is \(landscape.dimension)-D") }
                self.domain = nil
            }
        } else {
            self.fokkerPlanck = .ito
            self.nodes = 4001
            self.domain = nil
        }
        self.method = method
        let pooling = method == "tail-index" ? try r.string("pooling", allowed: TailIndexPooling.allCases.map(\.rawValue)) : nil
        self.pooling = pooling.flatMap(TailIndexPooling.init(rawValue:)) ?? .flattened

        let allowed = ExperimentSpec.commonKeys + ExperimentSpec.keysByDynamics[dynamics]! + (method == "theory" ? ["theory", "saddle"] : []) + (method == "minimum-action" ? ["saddle"] : [])
            + (method == "backward-kolmogorov" ? ["fokker_planck", "nodes", "domain"] : [])
            + (method == "convergence" ? ["steps", "init_scale", "divergence_bound"] : [])
            + (method == "tail-index" ? ["block_size", "pooling"] : [])
        for (key, node) in table.entries where !allowed.contains(key) {
            let other = ExperimentSpec.keysByDynamics.filter { $0.value.contains(key) }.map(\.key).sorted()
            if !other.isEmpty {
                throw SpecError("\(path).\(key) does not apply to dynamics \"\(dynamics)\" (it is for \(other.map { "\"\($0)\"" }.joined(separator: ", ")))\(r.location(node.line))")
            }
            throw SpecError("unknown key '\(path).\(key)'\(r.location(node.line)); allowed for dynamics \"\(dynamics)\": \(allowed.map { "'\($0)'" }.joined(separator: ", "))")
        }

        var parameters: [(String, [Double])] = []
        func axis(_ key: String, _ values: [Double]?, line: Int? = nil, _ check: (Double) -> String?) throws(SpecError) {
            guard let values else { return }
            for v in values {
                if let requirement = check(v) {
                    throw r.error(key, "must be \(requirement), got \(TableReader.format(v))", line: line)
                }
            }
            parameters.append((key, values))
        }
        let positive: (Double) -> String? = { $0 > 0 && $0.isFinite ? nil : "> 0" }
        let alphaRange: (Double) -> String? = { $0 > 0 && $0 <= 2 ? nil : "in (0, 2]" }
        let integerAtLeastOne: (Double) -> String? = { $0 >= 1 && $0 == $0.rounded() && $0 < 1e15 ? nil : "an integer ≥ 1" }

        switch dynamics {
        case "langevin", "levy":
            guard let eps = try r.sweep("epsilon") else { throw r.error("epsilon", "is required (noise strength, a number > 0)") }
            try axis("epsilon", eps, positive)
            if dynamics == "levy" {
                guard let alpha = try r.sweep("alpha") else { throw r.error("alpha", "is required (stability index in (0, 2])") }
                try axis("alpha", alpha, alphaRange)
            }
            if method == "monte-carlo" || method == "chain" { try axis("dt", try r.sweep("dt") ?? [1e-3], positive) }
            if method == "minimum-action" && dynamics == "levy" {
                throw r.error("method", "\"minimum-action\" needs Gaussian-type noise; Lévy exits are by jumps (use method = \"theory\", theory = \"imkeller-pavlyukevich\")")
            }
            self.noiseLaw = nil
            self.withReplacement = true
        default:
            guard let eta = try r.sweep("learning_rate") else { throw r.error("learning_rate", "is required (a number > 0)") }
            try axis("learning_rate", eta, positive)
            try axis("batch_size", try r.sweep("batch_size") ?? [1], integerAtLeastOne)
            self.withReplacement = try r.bool("replacement") ?? true
            let finiteSum = landscape.finiteSum
            var law: String
            if var noise = try r.table("noise") {
                law = try noise.string("law", required: finiteSum == nil, allowed: JobSpec.noiseLaws) ?? "finite-sum"
                if law == "finite-sum" && finiteSum == nil {
                    throw noise.error("law", "\"finite-sum\" needs a finite-sum landscape (quadratic-sums, wu-ma-e, linear-regression, sharp-flat-sum, random-features, two-layer); this landscape is an expression")
                }
                let keys = ExperimentSpec.noiseKeys[law]!
                for key in keys {
                    let values = try noise.sweep(key)
                    switch key {
                    case "sigma", "scale":
                        guard let values else { throw noise.error(key, "is required for noise law \"\(law)\" (a number > 0)") }
                        try axis("noise.\(key)", values, line: noise.table[key]?.line, positive)
                    case "nu":
                        guard let values else { throw noise.error(key, "is required for noise law \"student-t\" (degrees of freedom > 0)") }
                        try axis("noise.nu", values, line: noise.table[key]?.line, positive)
                    case "alpha":
                        guard let values else { throw noise.error(key, "is required for noise law \"alpha-stable\" (in (0, 2])") }
                        try axis("noise.alpha", values, line: noise.table[key]?.line, alphaRange)
                    default: break
                    }
                }
                try noise.rejectUnknown(allowed: ["law"] + keys)
            } else {
                guard finiteSum != nil else {
                    throw r.error("noise", "is required for dynamics \"\(dynamics)\" on an expression landscape, e.g. noise = { law = \"gaussian\", sigma = 1.0 }")
                }
                law = "finite-sum"
            }
            if finiteSum != nil && law != "finite-sum" {
                // allowed: a synthetic noise law on top of the finite sum's full gradient
            }
            self.noiseLaw = law
            if dynamics == "sgd-sde" {
                let dt = try r.sweep("dt")
                let fraction = try r.sweep("dt_fraction")
                if dt != nil && fraction != nil {
                    throw r.error("dt_fraction", "cannot be combined with dt; give one (dt_fraction sets dt = dt_fraction·learning_rate)")
                }
                if method == "theory" || method == "backward-kolmogorov" || method == "minimum-action" {
                } else if let dt { try axis("dt", dt, positive) } else {
                    try axis("dt_fraction", fraction ?? [0.1], { $0 > 0 && $0 <= 1 ? nil : "in (0, 1]" })
                }
            }
        }
        let paths = try r.sweep("paths") ?? [1000]
        try axis("paths", paths, { $0 >= 1 && $0 <= 1e9 && $0 == $0.rounded() ? nil : "an integer in 1...1000000000" })
        if !sampling {
            let maxSteps = try r.sweep("max_steps") ?? [1_000_000]
            try axis("max_steps", maxSteps, { $0 >= 1 && $0 <= 1e15 && $0 == $0.rounded() ? nil : "an integer in 1...1e15" })
        }
        if method == "convergence" {
            guard landscape.finiteSum != nil, noiseLaw == "finite-sum" else {
                throw r.error("method", "\"convergence\" runs real minibatch SGD: it needs a finite-sum landscape (quadratic-sums, wu-ma-e, linear-regression, sharp-flat-sum, random-features, two-layer) and noise law \"finite-sum\"")
            }
            try axis("steps", try r.sweep("steps") ?? [10_000], { $0 >= 1 && $0 <= 1e12 && $0 == $0.rounded() ? nil : "an integer in 1...1e12" })
            try axis("init_scale", try r.sweep("init_scale"), { $0 >= 0 && $0.isFinite ? nil : "≥ 0" })
            try axis("divergence_bound", try r.sweep("divergence_bound"), positive)
        }
        if method == "tail-index" {
            guard ["finite-sum", "gaussian", "student-t", "alpha-stable"].contains(noiseLaw ?? "") else {
                throw r.error("method", "\"tail-index\" draws the minibatch noise of a finite sum or of a gaussian, student-t or alpha-stable law; \"\(noiseLaw ?? "")\" depends on the point")
            }
            try axis("block_size", try r.sweep("block_size"), { $0 >= 2 && $0 == $0.rounded() && $0 < 1e9 ? nil : "an integer ≥ 2" })
        }
        if method == "chain" {
            guard dynamics != "levy", noiseLaw == nil || noiseLaw == "gaussian" || (dynamics == "sgd-sde" && noiseLaw == "student-t") else {
                throw r.error("method", "\"chain\" needs Gaussian increments (langevin, or sgd / sgd-sde with noise law \"gaussian\"), got dynamics \"\(dynamics)\"\(noiseLaw.map { " with noise law \"\($0)\"" } ?? "")")
            }
        }
        let exitTest = try r.string("exit_test", allowed: ExitTestKind.allCases.map(\.rawValue)) ?? "step"
        self.exitTest = ExitTestKind(rawValue: exitTest)!
        if self.exitTest == .bridge {
            if dynamics == "sgd" {
                throw r.error("exit_test", "\"bridge\" does not apply to dynamics \"sgd\": the discrete chain is checked at its iterates; use \"step\"")
            }
            if dynamics == "levy" || noiseLaw == "alpha-stable" {
                throw r.error("exit_test", "\"bridge\" needs Gaussian noise, this experiment has alpha-stable noise; use \"step\"")
            }
        }
        self.parameters = parameters
        try r.rejectUnknown(allowed: allowed)
        let cells = parameters.reduce(1) { $0 * $1.1.count }
        guard cells <= 100_000 else {
            throw SpecError("experiment[\(index + 1)] sweeps \(cells) cells; at most 100000 per experiment\(r.location(table.line))")
        }
    }
}

extension TableReader {
    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
    }
}
