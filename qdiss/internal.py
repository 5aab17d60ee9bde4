"""What a user needs to write their own steady-state solver (semi-private, like
``lineax.internal``): subclass :class:`AbstractSteadyStateSolver`, implement
``solve(problem, rho0) -> RawSolve`` on the :class:`DeflatedProblem` (the nonsingular system
A(ρ) = L(ρ) + s·tr(ρ)·E = s·E; :meth:`DeflatedProblem.packed_operator` is A as a lineax operator
on the packed unknowns), and pass an instance to :func:`qdiss.steady_state`, which runs the shared
checks. :func:`estimate_inverse_norm` gives the ‖A⁻¹‖ estimate the uniqueness check needs;
:func:`attach_implicit_derivative` gives a solve implicit-function derivatives."""

from ._adjoint import attach_implicit_derivative as attach_implicit_derivative
from ._lindbladian import (
    AbstractLindbladian as AbstractLindbladian,
    AbstractSpace as AbstractSpace,
    BlockSpace as BlockSpace,
    DenseSpace as DenseSpace,
)
from ._operator import DeflatedProblem as DeflatedProblem
from ._solution import RESULTS as RESULTS
from ._solver._abstract import (
    AbstractSteadyStateSolver as AbstractSteadyStateSolver,
    RawSolve as RawSolve,
    estimate_inverse_norm as estimate_inverse_norm,
)
from ._solver._ilu import IncompleteLU as IncompleteLU
from ._solver._phase_covariant import PhaseCovariant as PhaseCovariant
from ._solver._preconditioner import (
    AbstractPreconditioner as AbstractPreconditioner,
    BlockSweep as BlockSweep,
    EigenbasisDiagonal as EigenbasisDiagonal,
    Product as Product,
)
