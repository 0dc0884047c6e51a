internal import CGSL

/// A GSL failure mapped to a typed error (GSL status codes, `gsl_errno.h`).
public struct GSLError: Error, CustomStringConvertible, Sendable {
    public let status: Int32
    public let context: String
    public var description: String {
        let reason = String(cString: gsl_strerror(status))
        return "\(context): GSL error \(status) (\(reason))"
    }
}

/// GSL's default error handler aborts the process; every GSL entry point in this package
/// goes through `GSL.prepare()` first, which turns it off once so failures surface as
/// status codes (mapped to `GSLError`) instead.
enum GSL {
    private static let once: Void = { sgd_gsl_disable_error_handler() }()
    static func prepare() { _ = once }

    static func check(_ status: Int32, _ context: @autoclosure () -> String) throws(GSLError) {
        if status != 0 { throw GSLError(status: status, context: context()) }
    }
}
