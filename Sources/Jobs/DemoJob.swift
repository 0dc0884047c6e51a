/// The main job, embedded so `sgd-escape demo` needs no file: discrete SGD and its SDE
/// leaving the sharp minimum of the `sharp-flat` landscape across learning rates, beside
/// Langevin dynamics at the matching temperature ε = ησ²/(2B).
public enum DemoJob {
    public static let spec = """
    name = "demo-sharp-flat"
    seed = 1
    description = "Discrete SGD, its SDE and Langevin dynamics leaving the sharp minimum of a sharp/flat landscape"

    [landscape]
    builtin = "sharp-flat"
    h_sharp = 8.0
    h_flat = 1.0
    barrier_sharp = 0.25
    barrier_flat = 0.25

    [start]
    at = "sharp minimum"

    [exit]
    when = "x > 0"

    [[experiment]]
    name = "sgd"
    dynamics = "sgd"
    learning_rate = [0.05, 0.1, 0.2]
    batch_size = [1, 2]
    noise = { law = "gaussian", sigma = 2.0 }
    paths = 2000
    max_steps = 10_000_000

    [[experiment]]
    name = "sgd-sde"
    dynamics = "sgd-sde"
    learning_rate = [0.05, 0.1, 0.2]
    batch_size = [1, 2]
    noise = { law = "gaussian", sigma = 2.0 }
    dt_fraction = 0.1
    exit_test = "bridge"
    paths = 2000
    max_steps = 100_000_000

    """
}
