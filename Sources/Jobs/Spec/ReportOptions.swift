/// The optional `[report]` table of a job spec: how `sgd-escape report` should read the
/// sweep. Every key is optional; without them the report infers the fits from the swept
/// axes (see `Reporting.ScalingAnalysis`).
///
/// ```toml
/// [report]
/// title = "Arrhenius law of the double well"
/// claim = "Kramers: log E τ = log(prefactor) + ΔV/ε with ΔV = 1/4."
/// discussion = "Where and why the run departs from the claim (shown after the results)."
/// arrhenius_x = "1/epsilon"          # "1/eta", "B/eta", "1/h_sharp", "log(landscape.Ls/landscape.Lmin)", … or "none";
///                                    # or several: ["eta", "B"] (each experiment against those it sweeps)
/// power_law_x = "epsilon"            # any expression of parameters; adds log E τ = a + p log x
/// saddle_law_x = "1/eta"             # adds the saddle law E τ = a + b·ln x (Hu et al. 2019)
/// predicted_slope = 0.25             # the barrier the Arrhenius slope should recover
/// predicted_slope_source = "ΔV of the double well"
/// predicted_power = -1.5             # the exponent the power law should recover
/// ```
public struct ReportOptions: Sendable, Equatable {
    /// `arrhenius_x` value that turns the Arrhenius fit off.
    public static let noArrhenius = "none"

    public var title: String?
    public var claim: String?
    public var discussion: String?
    /// `arrhenius_x`: one abscissa, or several (`["eta", "B"]`: each experiment is fitted
    /// against those it sweeps); empty when not given (inferred from the swept axes) or `"none"`.
    public var arrheniusX: [FitAbscissa] = []
    /// `arrhenius_x = "none"`: no Arrhenius fit.
    public var arrheniusOff = false
    public var powerLawX: FitAbscissa?
    public var saddleLawX: FitAbscissa?
    public var predictedSlope: Double?
    public var predictedSlopeSource: String?
    public var predictedPower: Double?

    public init() {}

    init(_ t: inout TableReader) throws(SpecError) {
        title = try t.string("title")
        claim = try t.string("claim")
        discussion = try t.string("discussion")
        if let node = t.node("arrhenius_x") {
            switch node.value {
            case .string(let a) where a == ReportOptions.noArrhenius: arrheniusOff = true
            case .string(let a): arrheniusX = [try Self.abscissa(a, key: "arrhenius_x", &t)]
            case .array(let items) where !items.isEmpty:
                for item in items {
                    guard case .string(let a) = item.value, a != ReportOptions.noArrhenius else {
                        throw t.error("arrhenius_x", "must be an abscissa, an array of abscissae (strings) or \"none\"", line: item.line ?? node.line)
                    }
                    arrheniusX.append(try Self.abscissa(a, key: "arrhenius_x", &t))
                }
            default:
                throw t.error("arrhenius_x", "must be an abscissa (e.g. \"1/eta\"), a non-empty array of them or \"none\", got \(node.value.typeName)", line: node.line)
            }
        }
        if let a = try t.string("power_law_x") { powerLawX = try Self.abscissa(a, key: "power_law_x", &t) }
        if let a = try t.string("saddle_law_x") { saddleLawX = try Self.abscissa(a, key: "saddle_law_x", &t) }
        predictedSlope = try t.double("predicted_slope")
        predictedSlopeSource = try t.string("predicted_slope_source")
        predictedPower = try t.double("predicted_power")
        if let s = predictedSlope, !s.isFinite { throw t.error("predicted_slope", "must be finite, got \(s)") }
        try t.rejectUnknown(allowed: ["title", "claim", "discussion", "arrhenius_x", "power_law_x", "saddle_law_x", "predicted_slope",
                                      "predicted_slope_source", "predicted_power"])
    }

    /// A fit's abscissa parsed at spec time: a syntax error, or an expression naming no parameter, is a `SpecError`.
    static func abscissa(_ text: String, key: String, _ t: inout TableReader) throws(SpecError) -> FitAbscissa {
        let shown = text.count > 60 ? String(text.prefix(57)) + "…" : text
        let a: FitAbscissa
        do { a = try FitAbscissa(text) } catch {
            throw t.error(key, "must be an expression of parameters (e.g. \"1/eta\", \"1/landscape.h_sharp\"), got \"\(shown)\": \(error)")
        }
        guard !a.names.isEmpty else { throw t.error(key, "must name at least one parameter, got \"\(shown)\"") }
        return a
    }
}
