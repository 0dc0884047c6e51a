/// The optional `[report]` table of a job spec: how `sgd-escape report` should read the
/// sweep. Every key is optional; without them the report infers the fits from the swept
/// axes (see `Reporting.ScalingAnalysis`).
///
/// ```toml
/// [report]
/// title = "Arrhenius law of the double well"
/// claim = "Kramers: log E τ = log(prefactor) + ΔV/ε with ΔV = 1/4."
/// discussion = "Where and why the run departs from the claim (shown after the results)."
/// arrhenius_x = "1/epsilon"          # or "1/eta", "B/eta", "none" (no Arrhenius fit)
/// power_law_x = "epsilon"            # any swept parameter; adds log E τ = a + p log x
/// predicted_slope = 0.25             # the barrier the Arrhenius slope should recover
/// predicted_slope_source = "ΔV of the double well"
/// predicted_power = -1.5             # the exponent the power law should recover
/// ```
public struct ReportOptions: Sendable, Equatable {
    public static let arrheniusAxes = ["1/epsilon", "1/eta", "B/eta", "none"]

    public var title: String?
    public var claim: String?
    public var discussion: String?
    public var arrheniusX: String?
    public var powerLawX: String?
    public var predictedSlope: Double?
    public var predictedSlopeSource: String?
    public var predictedPower: Double?

    public init() {}

    init(_ t: inout TableReader) throws(SpecError) {
        title = try t.string("title")
        claim = try t.string("claim")
        discussion = try t.string("discussion")
        arrheniusX = try t.string("arrhenius_x", allowed: ReportOptions.arrheniusAxes)
        powerLawX = try t.string("power_law_x")
        predictedSlope = try t.double("predicted_slope")
        predictedSlopeSource = try t.string("predicted_slope_source")
        predictedPower = try t.double("predicted_power")
        if let s = predictedSlope, !s.isFinite { throw t.error("predicted_slope", "must be finite, got \(s)") }
        try t.rejectUnknown(allowed: ["title", "claim", "discussion", "arrhenius_x", "power_law_x", "predicted_slope",
                                      "predicted_slope_source", "predicted_power"])
    }
}
