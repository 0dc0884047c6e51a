import Foundation
internal import CGSL

/// Exact mean first-passage time in one dimension by adaptive quadrature (docs/THEORY.md §1):
/// for `dX = −V'(X) dt + √(2ε) dW`, reflecting far to the left and absorbing at `b`,
///
///   T(x₀) = (1/ε) ∫_{x₀}^{b} ∫_{−∞}^{y} e^{(V(y) − V(z))/ε} dz dy
///
/// (Gardiner, *Handbook of Stochastic Methods*, §5.2.7). GSL QAGIL for the inner
/// (semi-infinite) integral, QAGS for the outer; the two exponentials are combined so
/// nothing overflows while ΔV/ε < 700. Relative tolerance 1e-11 outer, 1e-12 inner.
public enum MeanFirstPassage1D {
    final class Context {
        let potential: (Double) -> Double
        let epsilon: Double
        var reference = 0.0
        var failure: Int32 = 0
        let inner: UnsafeMutablePointer<gsl_integration_workspace>
        init(potential: @escaping (Double) -> Double, epsilon: Double) {
            self.potential = potential
            self.epsilon = epsilon
            inner = gsl_integration_workspace_alloc(4000)
        }
        deinit { gsl_integration_workspace_free(inner) }
    }

    /// Mean time to first reach `barrier` from `start` < `barrier`.
    public static func meanExitTime(potential: @escaping (Double) -> Double, epsilon: Double,
                                    start: Double, barrier: Double) throws(GSLError) -> Double {
        precondition(start < barrier && epsilon > 0)
        GSL.prepare()
        let context = Context(potential: potential, epsilon: epsilon)
        let box = Unmanaged.passRetained(context)
        defer { box.release() }
        let outer = gsl_integration_workspace_alloc(4000)
        defer { gsl_integration_workspace_free(outer) }
        var f = gsl_function(function: { y, params in
            let c = Unmanaged<Context>.fromOpaque(params!).takeUnretainedValue()
            c.reference = c.potential(y)
            var g = gsl_function(function: { z, p in
                let cc = Unmanaged<Context>.fromOpaque(p!).takeUnretainedValue()
                return exp((cc.reference - cc.potential(z)) / cc.epsilon)
            }, params: params)
            var result = 0.0, error = 0.0
            let status = gsl_integration_qagil(&g, y, 0, 1e-12, 4000, c.inner, &result, &error)
            if status != 0 { c.failure = status }
            return result
        }, params: box.toOpaque())
        var result = 0.0, error = 0.0
        let status = gsl_integration_qags(&f, start, barrier, 0, 1e-11, 4000, outer, &result, &error)
        try GSL.check(status, "MFPT quadrature (outer integral)")
        try GSL.check(context.failure, "MFPT quadrature (inner integral)")
        return result / epsilon
    }
}
