/// Every method, once. Specs, `check`, the docs test and reports look methods up here;
/// nothing else lists them.
public enum MethodRegistry {
    public static let all: [any ExperimentMethod.Type] = [
        MonteCarloMethod.self,
        ChainMethod.self,
        TheoryMethod.self,
        BackwardKolmogorovMethod.self,
        MinimumActionMethod.self,
        ConvergenceMethod.self,
        TailIndexMethod.self,
        SplittingMethod.self,
    ]

    /// The method run when an experiment names none.
    public static let defaultMethod: any ExperimentMethod.Type = MonteCarloMethod.self

    public static var names: [String] { all.map { $0.name } }

    public static func named(_ name: String) -> (any ExperimentMethod.Type)? {
        all.first { $0.name == name }
    }

    /// The kind of the method called `name` (nil for a name no method has).
    public static func kind(of name: String) -> MethodKind? { named(name)?.kind }
}
