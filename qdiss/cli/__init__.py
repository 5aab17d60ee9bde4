"""The ``qdiss`` command line: studies from TOML files (a steady state, a sweep, an optimisation),
with progress bars, checkpoints that a rerun resumes from, a results folder per study and plots;
``qdiss bench``, ``qdiss info``, ``qdiss models``, ``qdiss studies``. ``qdiss --help`` for more.

Also re-exports the two-qubit magnon-bath functions of the first default job
(:mod:`qdiss.cli._magnon`), which tests and docstrings import from here.
"""

from ._magnon import (
    DEFAULT_PARAMETERS as DEFAULT_PARAMETERS,
    QUBIT_FREQUENCY as QUBIT_FREQUENCY,
    magnon_qubits_lindbladian as magnon_qubits_lindbladian,
    markov_chain_concurrence as markov_chain_concurrence,
    x_state_concurrence as x_state_concurrence,
)
from ._main import main as main
