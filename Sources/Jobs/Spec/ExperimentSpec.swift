import Foundation
import Diffusion

/// One `[[experiment]]`: dynamics, method, fixed settings and sweep axes. A parameter
/// given as an array is a sweep axis; several axes give their product, the first axis
/// varying slowest. Parsed once into typed values: the dynamics and noise law as their
/// kinds, the method as its `ExperimentMethod` (which reads and validates its own keys).
public struct ExperimentSpec: Sendable {
    public let index: Int
    public let name: String
    public let dynamics: DynamicsKind
    /// The method, with the settings it read from the spec.
    public let method: any ExperimentMethod
    /// Sweep axes and single values, in the order the keys appear: (key, values).
    public let parameters: [(key: String, values: [Double])]
    public let noiseLaw: NoiseLawKind?
    /// The noise law's non-numeric settings (`curvature`, `matrix`).
    public let noiseOptions: NoiseLawOptions
    public let withReplacement: Bool
    /// `sgld` with `temperature = "matched"`: each cell's ε is η·Tr(Σ_B(θ₀))/(2d)
    /// (`NoiseModel.matchedTemperature`, B = `batch_size`, sampling `replacement`).
    public let matchedTemperature: Bool
    public let exitTest: ExitTestKind
    /// Monte Carlo's integrator (`integrator = "…"`, default Euler–Maruyama).
    public let integrator: IntegratorKind
    public let line: Int?
    /// The landscape, start and exit of its cells: one per combination of the landscape's
    /// swept parameters (the leading `landscape.*` axes of `parameters`).
    public let settings: [ExperimentSetting]
    /// The line of each key of the experiment table (and of `noise.KEY`), for errors found later.
    let keyLines: [String: Int]

    public var methodName: String { type(of: method).name }
    public var methodKind: MethodKind { type(of: method).kind }

    public var cellCount: Int { parameters.reduce(1) { $0 * $1.values.count } }

    /// The landscape, start and exit of cell `k`: the landscape axes lead the product, so the
    /// cells of one landscape are consecutive.
    public func setting(ofCell k: Int) -> ExperimentSetting {
        settings[k / (cellCount / settings.count)]
    }

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

    /// A spec error at `key` found for cell `cell` (0-based) after parsing, with the key's line.
    public func error(_ key: String, _ message: String, cell: Int? = nil) -> SpecError {
        var at = ["experiment '\(name)'"]
        if let cell { at.append("cell \(cell + 1)") }
        if let line = keyLines[key] ?? line { at.append("line \(line)") }
        return SpecError("experiment[\(index + 1)].\(key) \(message) (\(at.joined(separator: ", ")))")
    }

    /// Keys each dynamics accepts (declared by the dynamics); anything else in the table is an error.
    static let keysByDynamics: [DynamicsKind: [String]] = Dictionary(uniqueKeysWithValues: DynamicsKind.allCases.map { ($0, $0.keys) })
    /// Keys every experiment takes, whatever its method and dynamics.
    public static let commonKeys = ["name", "dynamics", "method"] + JobSpec.settingTables
    /// Keys of the simulation that a method may or may not read.
    static let simulationKeys = ["paths", "max_steps", "exit_test", "integrator"]
    static let timeStepKeys = ["dt", "dt_fraction"]
    /// Keys of each noise law (inside `noise = { law = …, … }`), as the laws declare them.
    public static let noiseKeys: [NoiseLawKind: [String]] = Dictionary(uniqueKeysWithValues: NoiseLawKind.allCases.map {
        ($0, $0.keys(for: .sgd))
    })
    public static func keys(of dynamics: DynamicsKind) -> [String] { keysByDynamics[dynamics]! }

    init(_ table: SpecTable, index: Int, settings: [ExperimentSetting],
         landscapeAxes: [(key: String, values: [Double])]) throws(SpecError) {
        self.index = index
        self.line = table.line
        self.settings = settings
        // the first cell's landscape stands for all: they share kind and dimension (SettingTemplate)
        let landscape = settings[0].landscape
        let path = "experiment[\(index + 1)]"
        var probe = TableReader(table, path: path)
        let name = try probe.string("name", required: true)!
        guard !name.isEmpty else { throw probe.error("name", "must not be empty") }
        self.name = name
        var r = TableReader(table, path: path, context: "experiment '\(name)'")
        _ = try r.string("name")
        let dynamicsName = try r.string("dynamics", required: true, allowed: DynamicsKind.allCases.map(\.rawValue))!
        let dynamics = DynamicsKind(rawValue: dynamicsName)!
        self.dynamics = dynamics
        let methodName = try r.string("method") ?? MethodRegistry.defaultMethod.name
        guard let methodType = MethodRegistry.named(methodName) else {
            throw r.error("method", "must be one of \(MethodRegistry.names.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(methodName.shortened())\"")
        }
        // simulation keys the method does not read do not apply to it
        let notRead = (ExperimentSpec.simulationKeys + (methodType.usesTimeStep ? [] : ExperimentSpec.timeStepKeys))
            .filter { !methodType.keys.contains($0) }
        for key in notRead where table[key] != nil {
            throw r.error(key, "does not apply to method \"\(methodName)\" (\(methodType.simulationKeysNotApplicable))")
        }
        if let accepted = methodType.dynamics, !accepted.contains(dynamics) {
            throw r.error("method", "\"\(methodName)\" is for dynamics \(accepted.map(\.quoted).joined(separator: ", ")), got \(dynamics.quoted)")
        }
        var method = try methodType.init(reading: &r, landscape: landscape)

        let allowed = ExperimentSpec.commonKeys + ExperimentSpec.keysByDynamics[dynamics]!
            + methodType.keys.filter { !ExperimentSpec.keysByDynamics[dynamics]!.contains($0) }
        for (key, node) in table.entries where !allowed.contains(key) {
            let other = ExperimentSpec.keysByDynamics.filter { $0.value.contains(key) }.map(\.key.rawValue).sorted()
            if !other.isEmpty {
                throw SpecError("\(path).\(key) does not apply to dynamics \(dynamics.quoted) (it is for \(other.map { "\"\($0)\"" }.joined(separator: ", ")))\(r.location(node.line))")
            }
            throw SpecError("unknown key '\(path).\(key.shortened())'\(r.location(node.line)); allowed for dynamics \(dynamics.quoted): \(allowed.map { "'\($0)'" }.joined(separator: ", "))")
        }
        var keyLines: [String: Int] = [:]
        for (key, node) in table.entries { if let l = node.line { keyLines[key] = l } }

        let positive = ExperimentDraft.positive
        var x = ExperimentDraft(index: index, name: name, dynamics: dynamics, noiseLaw: nil, landscape: landscape, parameters: landscapeAxes)
        var matched = false
        if dynamics == .sgld {
            if case .string(let text)? = table["temperature"]?.value {
                guard text == "matched" else {
                    throw r.error("temperature", "must be a number > 0 or \"matched\", got \"\(text.shortened())\"")
                }
                guard landscape.finiteSum != nil else {
                    throw r.error("temperature", "\"matched\" needs a finite-sum landscape (\(JobSpec.finiteSumBuiltins.joined(separator: ", "))), whose minibatch noise it matches; give a number")
                }
                matched = true
                _ = r.node("temperature")
            } else {
                for key in DynamicsKind.matchedTemperatureKeys where table[key] != nil {
                    throw r.error(key, "applies to dynamics \(dynamics.quoted) only with temperature = \"matched\"")
                }
            }
        }
        self.matchedTemperature = matched
        for parameter in dynamics.parameters {
            if matched && parameter.key == "temperature" {
                // the matched minibatch in its place: batch_size (an axis), replacement
                let batch = ModelParameter("batch_size", .integerAtLeastOne, default: 1, meaning: "an integer ≥ 1")
                try x.axis("batch_size", try r.sweep("batch_size") ?? [1], r, batch.violation)
                continue
            }
            if table[parameter.key] == nil, method.optionalDynamicsParameters.contains(parameter.key) { continue }
            guard let values = try r.sweep(parameter.key) ?? parameter.defaultValue.map({ [$0] }) else {
                throw r.error(parameter.key, "is required (\(parameter.meaning))")
            }
            try x.axis(parameter.key, values, r, parameter.violation)
        }
        var noiseLaw: NoiseLawKind? = nil
        var noiseOptions = NoiseLawOptions()
        self.withReplacement = dynamics.hasNoiseLaw || matched ? try r.bool("replacement") ?? true : true
        if dynamics.hasNoiseLaw {
            let finiteSum = landscape.finiteSum
            var law: NoiseLawKind
            if var noise = try r.table("noise") {
                let name = try noise.string("law", required: finiteSum == nil, allowed: NoiseLawKind.allCases.map(\.rawValue))
                law = name.flatMap(NoiseLawKind.init(rawValue:)) ?? .finiteSum
                if law == .finiteSum && finiteSum == nil {
                    throw noise.error("law", "\(law.quoted) needs a finite-sum landscape (\(JobSpec.finiteSumBuiltins.joined(separator: ", "))); this landscape is an expression")
                }
                let parameters = law.parameters(for: dynamics)
                for parameter in parameters {
                    let line = noise.table[parameter.key]?.line
                    if let line { keyLines["noise.\(parameter.key)"] = line }
                    guard let values = try noise.sweep(parameter.key) ?? parameter.defaultValue.map({ [$0] }) else {
                        if parameter.isOptional { continue }
                        throw noise.error(parameter.key, "is required for noise law \(law.quoted) (\(parameter.meaning))")
                    }
                    try x.axis("noise.\(parameter.key)", values, r, line: line, parameter.violation)
                }
                for setting in law.settings {
                    if let line = noise.table[setting.key]?.line { keyLines["noise.\(setting.key)"] = line }
                    try ExperimentSpec.readNoiseSetting(setting, from: &noise, law: law, landscape: landscape, into: &noiseOptions)
                }
                try noise.rejectUnknown(allowed: ["law"] + law.keys(for: dynamics))
            } else {
                guard finiteSum != nil else {
                    throw r.error("noise", "is required for dynamics \(dynamics.quoted) on an expression landscape, e.g. noise = { law = \(NoiseLawKind.gaussian.quoted), sigma = 1.0 }")
                }
                law = .finiteSum
            }
            // a synthetic noise law on a finite sum is allowed: it adds to the full gradient
            noiseLaw = law
        }
        switch dynamics.timeStep {
        case .learningRate: break
        case .dt(let defaultStep):
            if methodType.usesTimeStep { try x.axis("dt", try r.sweep("dt") ?? [defaultStep], r, positive) }
        case .dtOrFraction(let defaultFraction):
            let dt = try r.sweep("dt")
            let fraction = try r.sweep("dt_fraction")
            if dt != nil && fraction != nil {
                throw r.error("dt_fraction", "cannot be combined with dt; give one (dt_fraction sets dt = dt_fraction·learning_rate)")
            }
            if methodType.usesTimeStep {
                if let dt { try x.axis("dt", dt, r, positive) } else {
                    try x.axis("dt_fraction", fraction ?? [defaultFraction], r, { $0 > 0 && $0 <= 1 ? nil : "in (0, 1]" })
                }
            }
        }
        self.noiseLaw = noiseLaw
        self.noiseOptions = noiseOptions
        x = ExperimentDraft(index: index, name: name, dynamics: dynamics, noiseLaw: noiseLaw, landscape: landscape, parameters: x.parameters)
        let paths = try r.sweep("paths") ?? [1000]
        try x.axis("paths", paths, r, { $0 >= 1 && $0 <= 1e9 && $0 == $0.rounded() ? nil : "an integer in 1...1000000000" })
        if methodType.kind != .sampling {
            let maxSteps = try r.sweep("max_steps") ?? [1_000_000]
            try x.axis("max_steps", maxSteps, r, { $0 >= 1 && $0 <= 1e15 && $0 == $0.rounded() ? nil : "an integer in 1...1e15" })
        }
        try method.finish(&r, &x)
        self.method = method
        let exitTest = try r.string("exit_test", allowed: ExitTestKind.allCases.map(\.rawValue)) ?? ExitTestKind.step.rawValue
        self.exitTest = ExitTestKind(rawValue: exitTest)!
        let integrator = try r.string("integrator", allowed: IntegratorKind.allCases.map(\.rawValue)) ?? IntegratorKind.eulerMaruyama.rawValue
        self.integrator = IntegratorKind(rawValue: integrator)!
        if self.exitTest == .bridge && !self.integrator.supportsBridge {
            throw r.error("exit_test", "\"bridge\" is not available with integrator \"\(integrator)\"; use \"step\"")
        }
        if self.exitTest == .bridge {
            if dynamics == .sgd || dynamics == .sgld {
                throw r.error("exit_test", "\"bridge\" does not apply to dynamics \(dynamics.quoted): the discrete chain is checked at its iterates; use \"step\"")
            }
            if dynamics == .levy || noiseLaw == .alphaStable {
                throw r.error("exit_test", "\"bridge\" needs Gaussian noise, this experiment has alpha-stable noise; use \"step\"")
            }
        }
        self.parameters = x.parameters
        self.keyLines = keyLines
        for key in JobSpec.settingTables { _ = r.node(key) }  // read by JobSpec (SettingTemplate)
        try r.rejectUnknown(allowed: allowed)
        let cells = parameters.reduce(1) { $0 * $1.values.count }
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
