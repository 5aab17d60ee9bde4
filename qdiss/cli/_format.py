"""The study file format, for ``qdiss run --help`` (a module of its own: the help needs no
pydantic, which reads the files, :mod:`._study`)."""

FORMAT = """\
Study file format (TOML; see the examples: `qdiss studies`, `qdiss studies NAME`):

  name = "my-study"              # results go to RESULTS_DIR/<name>/  (letters, digits, - _ .)
  description = "..."            # optional

  [model]
  name = "magnon"                # a model of qdiss.models: `qdiss models` lists them
  [model.parameters]             # the arguments of the model class: `qdiss models NAME`
  eta = [0.05, 0.99]             # real parameters: a number or a list of numbers
  temperature = 0.5              # integer/true-false/string parameters: as the model says

  [solver]                       # optional
  name = "DenseLU"               # Auto (default), DenseLU, SparseLU, Krylov, Evolve
  precision = "float64"          # or "float32"
  residual_tol = 1e-10           # any option of that solver class, e.g. Krylov's max_steps

  [units]                        # optional: axis and colour-bar labels for the plots
  mu = "ω"                       # a parameter or figure of merit -> its unit

  [[task]]                       # one or more tasks, run in order
  kind = "steady"                # one steady state
  merits = ["concurrence", "purity"]      # figures of merit: `qdiss models NAME`
  gradients = true               # also d(merit)/d(parameter) for every real parameter

  [[task]]
  kind = "optimize"              # gradient-based optimisation (optax)
  name = "optimize"              # optional (default: the kind); names the result files
  objective = "concurrence"      # a figure of merit
  goal = "maximize"              # or "minimize"
  parameters = ["eta[0]", "mu"]  # whole parameters or single entries  name[i]
  bounds = { "eta[0]" = [-0.999, 0.999], mu = [-4.0, 0.99] }   # optional; inf allowed
  optimizer = "adam"             # adam (default), sgd, lbfgs
  learning_rate = 0.05
  steps = 100                    # at most this many steps
  tolerance = 1e-8               # stop when the relative change of the objective stays
  patience = 10                  #   below this for `patience` steps (≥ 1)
  checkpoint_every = 25          # optional: steps per checkpoint (default: every ~30 s)

  [[task]]
  kind = "sweep"                 # a grid over one or two parameters (a phase diagram)
  start = "optimize"             # optional: start from the best point of an optimize task
  merits = ["concurrence"]
  axes = [
    { parameter = "eta[0]", start = -1.0, stop = 1.0, num = 21 },
    { parameter = "mu[0]", values = [-2.0, -1.0, 0.0, 0.5] },
  ]                              # or start/stop/num with scale = "log"
  checkpoint_every = 64          # optional: points per checkpoint block

  [[task]]
  kind = "spectrum"              # emission spectrum of the k-th jump operator's channel:
  jump = 0                       #   S(ω) of <L_k†(τ) L_k(0)> (QuTiP's convention)
  omega = { start = -5.0, stop = 5.0, num = 201 }

Each model declares its parameters' domains (`qdiss models NAME`): rates must be >= 0, a
temperature > 0; the model checks the rest of its domain (e.g. |eta| <= 1) when the study loads.
"""
