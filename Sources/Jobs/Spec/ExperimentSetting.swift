import Foundation
import Diffusion

/// The landscape, start and exit region of one cell: an experiment's own
/// (`[experiment.landscape]`, `[experiment.start]`, `[experiment.exit]`) or the job's, at one
/// combination of the landscape parameters given as arrays.
public struct ExperimentSetting: Sendable {
    public let landscape: Landscape
    public let start: [Double]
    public let exit: ExitRegion
    /// The landscape table this setting was built from, with the swept values put in
    /// (`SpecValue.canonical`: line numbers and key order ignored, 2 and 2.0 alike), and the
    /// folder relative paths in it are read from.
    let source: String
    /// How a trained start was reached (`start.train`), for reports; nil for a given point.
    public let startNote: String?

    /// Same landscape (built from the same table), start point and exit region: cells that
    /// may stand as each other's references or predictions. Compared by what was written, not
    /// by the landscape's one-line summary, which leaves parameters out.
    public func sameGeometry(as other: ExperimentSetting) -> Bool {
        source == other.source && start == other.start && exit == other.exit
    }
}

/// `[landscape]`, `[start]` and `[exit]` as written, before the landscape parameters given as
/// arrays are expanded. A numeric parameter of a built-in written as an array
/// (`h_sharp = [2, 4, 8]`), or a named constant of an expression (`[landscape.constants]
/// h = [1, 2, 4]`), is a sweep axis: it appears in each cell's parameters as `landscape.NAME`,
/// ahead of the experiment's own axes (so it varies slowest), and each combination is built
/// and checked as a landscape of its own — critical points, start (`at = "…"`), exit region,
/// exact references and theory all follow the cell's landscape.
struct SettingTemplate {
    /// A landscape parameter given as an array.
    struct Axis {
        /// The key in the landscape table (`h_sharp`), or the constant's name.
        let name: String
        let values: [Double]
        /// Where the value goes: a built-in's key, a named constant of `[landscape.constants]`,
        /// or a number of the exit region (`distance_from_start`, `loss_above`).
        enum Place { case builtin, constant, exit }
        let place: Place
        /// Every value was written as an integer (`samples = [64, 128]`).
        let isInteger: Bool
        /// The key in cell parameters: `landscape.NAME`, or `exit.NAME`.
        var key: String { place == .exit ? "exit.\(name)" : "landscape.\(name)" }
    }

    /// The exit region's numbers that may be swept (an array there is a sweep axis).
    static let exitAxisKeys = ["distance_from_start", "loss_above"]

    let landscape: SpecTable
    let start: SpecTable
    let exit: SpecTable
    /// Key paths for messages: `landscape` or `experiment[2].landscape`, …
    let paths: (landscape: String, start: String, exit: String)
    let axes: [Axis]

    /// At most this many landscapes per experiment (each is built and checked up front).
    static let maxLandscapes = 1000

    /// Names an expression constant may not take: the functions and `pi`, `e`.
    static func reservedName(_ name: String) -> Bool {
        name == "pi" || name == "e" || ExpressionFunction(rawValue: name) != nil
    }

    init(landscape: SpecTable, start: SpecTable, exit: SpecTable,
         paths: (landscape: String, start: String, exit: String)) throws(SpecError) {
        self.landscape = landscape; self.start = start; self.exit = exit; self.paths = paths
        var axes: [Axis] = []
        let reader = TableReader(landscape, path: paths.landscape)
        if case .string(let builtin)? = landscape["builtin"]?.value {
            let vector = JobSpec.builtinVectorKeys[builtin] ?? []
            for (key, node) in landscape.entries where key != "builtin" && !vector.contains(key) {
                guard case .array(let items) = node.value, let numbers = SettingTemplate.numbers(items) else { continue }
                guard !numbers.values.isEmpty else { throw reader.error(key, "must not be an empty array (an array of numbers is a sweep axis)") }
                axes.append(Axis(name: key, values: numbers.values, place: .builtin, isInteger: numbers.integer))
            }
        } else if let node = landscape["constants"] {
            guard case .table(let constants) = node.value else {
                throw reader.error("constants", "must be a table of name = number (or an array of numbers: a sweep axis), got \(node.value.typeName)")
            }
            let c = TableReader(constants, path: "\(paths.landscape).constants")
            for (name, node) in constants.entries {
                guard name.first.map({ $0.isLetter || $0 == "_" }) == true,
                      name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                    throw c.error(name, "is not a valid name: a constant is a letter or _ followed by letters, digits or _")
                }
                guard !SettingTemplate.reservedName(name) else { throw c.error(name, "is reserved (a function, pi or e); choose another name") }
                switch node.value {
                case .integer, .float: continue
                case .array(let items):
                    guard let numbers = SettingTemplate.numbers(items), !numbers.values.isEmpty else {
                        throw c.error(name, "must be a number or a non-empty array of numbers (a sweep axis)")
                    }
                    axes.append(Axis(name: name, values: numbers.values, place: .constant, isInteger: false))
                default:
                    throw c.error(name, "must be a number or an array of numbers (a sweep axis), got \(node.value.typeName)")
                }
            }
        }
        let exitReader = TableReader(exit, path: paths.exit)
        for key in SettingTemplate.exitAxisKeys {
            guard let node = exit[key], case .array(let items) = node.value else { continue }
            guard let numbers = SettingTemplate.numbers(items), !numbers.values.isEmpty else {
                throw exitReader.error(key, "must be a number or a non-empty array of numbers (a sweep axis)", line: node.line)
            }
            axes.append(Axis(name: key, values: numbers.values, place: .exit, isInteger: numbers.integer))
        }
        self.axes = axes
        let count = axes.reduce(1) { $0 * $1.values.count }
        guard count <= SettingTemplate.maxLandscapes else {
            throw SpecError("\(paths.landscape) sweeps \(count) landscapes (the product of its array parameters); at most \(SettingTemplate.maxLandscapes)\(reader.location(landscape.line))")
        }
    }

    static func numbers(_ items: [SpecNode]) -> (values: [Double], integer: Bool)? {
        var values: [Double] = []
        var integer = true
        for item in items {
            switch item.value {
            case .integer(let i): values.append(Double(i))
            case .float(let x): values.append(x); integer = false
            default: return nil
            }
        }
        return (values, integer)
    }

    /// The sweep axes as an experiment's leading parameters.
    var parameters: [(key: String, values: [Double])] { axes.map { ($0.key, $0.values) } }

    /// One setting per combination of the axes (first axis slowest), each built and checked.
    func settings(baseDirectory: URL?) throws(SpecError) -> [ExperimentSetting] {
        let count = axes.reduce(1) { $0 * $1.values.count }
        var out: [ExperimentSetting] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            var rest = k
            var chosen = Array(repeating: 0.0, count: axes.count)
            for a in stride(from: axes.count - 1, through: 0, by: -1) {
                chosen[a] = axes[a].values[rest % axes[a].values.count]
                rest /= axes[a].values.count
            }
            do throws(SpecError) {
                let setting = try build(chosen, baseDirectory: baseDirectory)
                if let first = out.first {
                    guard setting.landscape.dimension == first.landscape.dimension,
                          (setting.landscape.finiteSum == nil) == (first.landscape.finiteSum == nil) else {
                        throw SpecError("\(paths.landscape): every swept value must give a landscape of the same kind and dimension (\(first.landscape.dimension)-D), got \(setting.landscape.dimension)-D")
                    }
                }
                out.append(setting)
            } catch {
                guard !axes.isEmpty else { throw error }
                let at = zip(axes, chosen).map { "\($0.0.key) = \(TableReader.format($0.1))" }.joined(separator: ", ")
                throw SpecError("\(error.message) [at \(at)]")
            }
        }
        return out
    }

    /// The landscape, start and exit at one value of each axis.
    private func build(_ chosen: [Double], baseDirectory: URL?) throws(SpecError) -> ExperimentSetting {
        var table = landscape
        var exit = self.exit
        for (axis, value) in zip(axes, chosen) {
            let scalar = SpecValue.scalar(value, integer: axis.isInteger)
            if axis.place == .exit {
                if let i = exit.entries.firstIndex(where: { $0.key == axis.name }) { exit.entries[i].node.value = scalar }
            } else if axis.place == .constant {
                guard let i = table.entries.firstIndex(where: { $0.key == "constants" }),
                      case .table(var constants) = table.entries[i].node.value,
                      let j = constants.entries.firstIndex(where: { $0.key == axis.name }) else { continue }
                constants.entries[j].node.value = scalar
                table.entries[i].node.value = .table(constants)
            } else if let i = table.entries.firstIndex(where: { $0.key == axis.name }) {
                table.entries[i].node.value = scalar
            }
        }
        var l = TableReader(table, path: paths.landscape)
        var landscape = try JobSpec.landscape(&l, baseDirectory: baseDirectory)
        if table["builtin"] != nil {
            // a built-in's numeric parameters are named constants of the expressions read on it
            var numbers: [String: Double] = [:]
            for (key, node) in table.entries { if let x = TableReader.number(node.value) { numbers[key] = x } }
            landscape = landscape.adding(constants: numbers)
        }
        var s = TableReader(start, path: paths.start)
        let (point, startNote) = try JobSpec.start(&s, landscape: landscape)
        // the landscape must be finite where the paths start, or every path "diverges" at once
        let value = landscape.value(at: point)
        let gradient = landscape.gradient(at: point)
        if !value.isFinite || !gradient.allSatisfy(\.isFinite) {
            let what: String
            if case .string(let text)? = table["potential"]?.value {
                what = "\(paths.landscape).potential \"\(text.shortened())\""
            } else if case .string(let name)? = table["builtin"]?.value {
                what = "\(paths.landscape) (builtin \"\(name.shortened())\")"
            } else {
                what = paths.landscape
            }
            let shown = gradient.map { TableReader.format($0) }.joined(separator: ", ")
            throw SpecError("\(what) must be finite at the start [\(point.map(TableReader.format).joined(separator: ", "))]: value \(TableReader.format(value)), gradient [\(shown)]\(l.location(table["potential"]?.line ?? table.line))")
        }
        var e = TableReader(exit, path: paths.exit)
        let region = try JobSpec.exitRegion(&e, dimension: landscape.dimension)
        do {
            let terms = try region.terms(on: landscape, start: point)
            if let hit = ExitProblem.firstTerm(terms, holdingAt: point, on: landscape) {
                throw SpecError("\(paths.start).point \(point) is already in the exit region (\(terms[hit].label))\(s.location(start["point"]?.line ?? start.line))")
            }
        } catch let error as SpecError {
            throw error
        } catch let error as ExpressionError {
            throw SpecError("\(paths.exit).when: \(error)\(e.location(exit["when"]?.line ?? exit.line))")
        } catch {
            throw SpecError("\(paths.exit): \(error)\(e.location(exit.line))")
        }
        let source = SpecValue.table(table).canonical + " in " + (baseDirectory?.standardizedFileURL.path ?? ".")
        return ExperimentSetting(landscape: landscape, start: point, exit: region, source: source, startNote: startNote)
    }
}

extension SpecValue {
    /// A number as a spec value: an integer when it was written as one.
    static func scalar(_ x: Double, integer: Bool) -> SpecValue {
        integer && x == x.rounded() && abs(x) < 1e15 ? .integer(Int(x)) : .float(x)
    }
}
