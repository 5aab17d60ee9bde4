"""The registry of steady-state solvers that every test of the shared contract runs through.

Add a solver here (one line) and it is checked against the dense null-space reference and QuTiP,
for residual, Hermiticity, trace, positivity, jit, vmap, jvp vs finite differences, grad vs jvp
and failure reporting (tests/test_contract.py).
"""

import qdiss

SOLVERS = {
    "dense": qdiss.DenseLU(),
    "sparse": qdiss.SparseLU(),
    "krylov": qdiss.Krylov(),
    "evolve": qdiss.Evolve(),
}
