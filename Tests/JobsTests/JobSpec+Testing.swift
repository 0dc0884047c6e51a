@testable import Jobs

/// Helpers the JobsTests suites share.
extension JobSpec {
    /// The first experiment's first landscape, start and exit (for jobs with one setting).
    var first: ExperimentSetting { experiments[0].settings[0] }
}
