import Diffusion

extension ExperimentSpec {
    /// Reads one non-numeric setting of a noise law (`NoiseLawSetting`) from `noise = {…}`:
    /// a choice (`curvature = "absolute"`) or the covariance law's `matrix` — one expression
    /// string in 1-D, d rows of d strings in d dimensions, parsed by `CovarianceMatrix` over
    /// the first cell's landscape (variables and named constants; each cell re-reads it on its
    /// own landscape, `JobSpec.cellProblem`).
    static func readNoiseSetting(_ setting: NoiseLawSetting, from noise: inout TableReader, law: NoiseLawKind,
                                 landscape: Landscape, into options: inout NoiseLawOptions) throws(SpecError) {
        switch setting.kind {
        case .choice(let names, let defaultName):
            let name = try noise.string(setting.key, allowed: names) ?? defaultName
            if setting.key == "curvature" { options.curvature = HessianCurvature(rawValue: name)! }
        case .expressionMatrix:
            guard let node = noise.node(setting.key) else {
                throw noise.error(setting.key, "is required for noise law \(law.quoted) (\(setting.meaning))")
            }
            let rows = try matrixRows(node, noise, key: setting.key, dimension: landscape.dimension)
            do {
                options.matrix = try CovarianceMatrix(rows: rows, variables: landscape.variables, constants: landscape.constants)
            } catch {
                throw noise.error(setting.key, "\(error)", line: node.line)
            }
        }
    }

    /// `"expr"` (1-D) or `[["a", "b"], ["c", "d"]]` as rows of strings; a bad shape names
    /// what is required.
    static func matrixRows(_ node: SpecNode, _ noise: TableReader, key: String, dimension d: Int) throws(SpecError) -> [[String]] {
        let value = TableReader.describe(node.value)
        let shown = value.count > 60 ? String(value.prefix(57)) + "…" : value
        let required = d == 1
            ? "must be one expression string (Σ₁(x), e.g. \"1 + x^2\") for a 1-D landscape"
            : "must be \(d) rows of \(d) expression strings (Σ₁(θ), row-major) for a \(d)-D landscape"
        func fail() -> SpecError { noise.error(key, "\(required), got \(shown)", line: node.line) }
        switch node.value {
        case .string(let s):
            return [[s]]
        case .array(let rows):
            var out: [[String]] = []
            for row in rows {
                switch row.value {
                case .array(let items):
                    var strings: [String] = []
                    for item in items {
                        guard case .string(let s) = item.value else { throw fail() }
                        strings.append(s)
                    }
                    out.append(strings)
                case .string(let s) where d == 1 && rows.count == 1:
                    out.append([s])
                default:
                    throw fail()
                }
            }
            guard out.count == d, out.allSatisfy({ $0.count == d }) else { throw fail() }
            return out
        default:
            throw fail()
        }
    }
}
