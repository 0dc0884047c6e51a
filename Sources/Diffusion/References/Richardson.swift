/// Richardson extrapolation for second-order grid solves (Richardson 1911; e.g. LeVeque,
/// *Finite Difference Methods*, §A.6): from values on grids h, 2h, 4h, the extrapolated
/// R(h) = (4T_h − T_{2h})/3, and as its error estimate |R(h) − R(2h)| — the difference to
/// the same extrapolation one level coarser, which bounds R(h)'s error when the next term
/// of the error expansion dominates (conservative by about the ratio of grid errors).
public enum Richardson {
    public static func extrapolate(_ values: [Double]) -> (value: Double, error: Double) {
        precondition(values.count == 3, "fine, coarse and coarser values")
        let fine = (4 * values[0] - values[1]) / 3
        let coarse = (4 * values[1] - values[2]) / 3
        return (fine, abs(fine - coarse))
    }
}
