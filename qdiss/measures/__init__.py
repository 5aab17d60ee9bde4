"""Figures of merit: small pure JAX functions of a density matrix (or a Lindbladian), each with
its formula in the docstring, each working under ``jit``, ``vmap`` and ``grad`` (finite gradients
at non-smooth points; see ``qdiss/measures/_states.py`` for the rules). ``resolve_merit(name,
model, L)`` finds a figure of merit by name (a generic one here, or one the model declares) and
checks that it applies (``available_merits(model, L)`` lists those that do).

Every figure of merit takes QuTiP ``Qobj`` and dynamiqs ``QArray`` arguments as it takes arrays:
they are converted in one place, ``qdiss._interop.accepts_quantum_objects``, applied below to
each public function of this package."""

from .._interop import accepts_quantum_objects as _accepts_quantum_objects
from ._dynamics import (
    liouvillian_gap as liouvillian_gap,
    liouvillian_spectrum as liouvillian_spectrum,
)
from ._entanglement import (
    concurrence as concurrence,
    concurrence_margin as concurrence_margin,
    fully_entangled_fraction as fully_entangled_fraction,
    ghz_fidelity as ghz_fidelity,
    is_ppt as is_ppt,
    log_negativity as log_negativity,
    negativity as negativity,
    phi_plus_fraction as phi_plus_fraction,
)
from ._merits import (
    BIPARTITE as BIPARTITE,
    GENERIC_MERITS as GENERIC_MERITS,
    TWO_QUBITS as TWO_QUBITS,
    Merit as Merit,
    Requirement as Requirement,
    available_merits as available_merits,
    merit_candidates as merit_candidates,
    resolve_merit as resolve_merit,
)
from ._spin import (
    block_spin_moments as block_spin_moments,
    collective_spin_operators as collective_spin_operators,
    dicke_basis as dicke_basis,
    fisher_information as fisher_information,
    kitagawa_ueda_squeezing as kitagawa_ueda_squeezing,
    kitagawa_ueda_squeezing_from_moments as kitagawa_ueda_squeezing_from_moments,
    quantum_fisher_information as quantum_fisher_information,
    spin_moments as spin_moments,
    spin_operators as spin_operators,
    wineland_squeezing as wineland_squeezing,
    wineland_squeezing_from_moments as wineland_squeezing_from_moments,
)
from ._states import (
    expect as expect,
    fidelity as fidelity,
    mutual_information as mutual_information,
    partial_trace as partial_trace,
    partial_transpose as partial_transpose,
    purity as purity,
    von_neumann_entropy as von_neumann_entropy,
)

# Qobj / QArray arguments converted to arrays (the one conversion point, ``qdiss._interop``).
_FIGURES_OF_MERIT = (
    "concurrence",
    "concurrence_margin",
    "fully_entangled_fraction",
    "ghz_fidelity",
    "is_ppt",
    "log_negativity",
    "negativity",
    "phi_plus_fraction",
    "block_spin_moments",
    "kitagawa_ueda_squeezing",
    "kitagawa_ueda_squeezing_from_moments",
    "fisher_information",
    "quantum_fisher_information",
    "spin_moments",
    "wineland_squeezing",
    "wineland_squeezing_from_moments",
    "expect",
    "fidelity",
    "mutual_information",
    "partial_trace",
    "partial_transpose",
    "purity",
    "von_neumann_entropy",
)
for _name in _FIGURES_OF_MERIT:
    globals()[_name] = _accepts_quantum_objects(globals()[_name])
del _name

# Short names (the names the issue tracker and notebooks use).
entropy_vn = von_neumann_entropy
ptrace = partial_trace
ptranspose = partial_transpose
qfi = quantum_fisher_information
