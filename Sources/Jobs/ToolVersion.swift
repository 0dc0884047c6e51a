/// The tool's version, in one place: `sgd-escape --version` prints `number`, and every store
/// records `label` in its job row (shown in each report's "Tool" row).
public enum ToolVersion {
    /// The release, `MAJOR.MINOR.PATCH`.
    public static let number = "0.7.0"
    /// The results store's schema: 1 had no `paths_scale`, 2 no sample digests, 3 has both
    /// (a schema-2 store is read with a warning that its cells are unverified).
    public static let storeSchema = 3
    /// What a store's job row records.
    public static let label = "sgd-escape \(number) (store schema \(storeSchema))"
}
