"""qdiss: differentiable steady states of open quantum systems in JAX."""

from . import channels as channels, internal as internal, measures as measures, models as models
from ._baths import (
    bose_occupation as bose_occupation,
    correlated_dissipator_jumps as correlated_dissipator_jumps,
    kossakowski_matrix as kossakowski_matrix,
    thermal_bath_jumps as thermal_bath_jumps,
    two_mode_squeezed_kossakowski as two_mode_squeezed_kossakowski,
)
from ._correlations import (
    SpectrumSolution as SpectrumSolution,
    coherence_function_g2 as coherence_function_g2,
    correlation_2op_1t as correlation_2op_1t,
    g2_zero as g2_zero,
    linear_response as linear_response,
    spectrum as spectrum,
    steady_state_derivative as steady_state_derivative,
    steady_state_fisher_information as steady_state_fisher_information,
    susceptibility as susceptibility,
)
from ._evolve import EvolveSolution as EvolveSolution, evolve as evolve
from ._floquet import (
    AbstractFloquetSolver as AbstractFloquetSolver,
    FloquetContinuedFraction as FloquetContinuedFraction,
    FloquetKrylov as FloquetKrylov,
    FloquetLU as FloquetLU,
    PeriodicSteadyState as PeriodicSteadyState,
    PeriodicSteadyStateStats as PeriodicSteadyStateStats,
    periodic_steady_state as periodic_steady_state,
)
from ._lindbladian import (
    AbstractLindbladian as AbstractLindbladian,
    Lindbladian as Lindbladian,
    PermutationInvariantLindbladian as PermutationInvariantLindbladian,
    SectorLindbladian as SectorLindbladian,
    Superoperator as Superoperator,
    dicke_lindbladian as dicke_lindbladian,
    pi_from_dense as pi_from_dense,
    pi_to_dense as pi_to_dense,
)
from ._low_spectrum import (
    LowLyingSpectrum as LowLyingSpectrum,
    low_lying_spectrum as low_lying_spectrum,
)
from ._optimize import (
    AbstractBijection as AbstractBijection,
    Bounded as Bounded,
    GreaterThan as GreaterThan,
    Identity as Identity,
    LessThan as LessThan,
    OptimizeHistory as OptimizeHistory,
    OptimizeResult as OptimizeResult,
    OptimizeState as OptimizeState,
    OptimizeStep as OptimizeStep,
    bounded as bounded,
    constrain as constrain,
    greater_than as greater_than,
    less_than as less_than,
    load_state as load_state,
    optimize as optimize,
    optimize_init as optimize_init,
    positive as positive,
    save_state as save_state,
    unconstrain as unconstrain,
)
from ._perturbative import (
    PerturbativeSolution as PerturbativeSolution,
    perturbative_steady_state as perturbative_steady_state,
)
from ._pseudo_inverse import (
    AbstractResolventSolver as AbstractResolventSolver,
    DenseResolvent as DenseResolvent,
    KrylovResolvent as KrylovResolvent,
    SchurResolvent as SchurResolvent,
    pseudo_inverse as pseudo_inverse,
)
from ._solution import (
    RESULTS as RESULTS,
    SteadyStateSolution as SteadyStateSolution,
    SteadyStateStats as SteadyStateStats,
)
from ._solve import steady_state as steady_state
from ._solver._abstract import AbstractSteadyStateSolver as AbstractSteadyStateSolver
from ._solver.auto import Auto as Auto
from ._solver.dense import DenseLU as DenseLU
from ._solver.evolve import Evolve as Evolve
from ._solver.krylov import Krylov as Krylov
from ._solver.sparse import SparseLU as SparseLU
from ._sweep import (
    SweepResult as SweepResult,
    SweepState as SweepState,
    grid_points as grid_points,
    sweep as sweep,
)

__version__ = "0.1.0"
