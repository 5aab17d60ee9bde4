"""The ``qdiss`` command line: studies from TOML files (a steady state, a sweep, an optimisation),
with progress bars, checkpoints that a rerun resumes from, a results folder per study and plots;
``qdiss bench``, ``qdiss info``, ``qdiss models``, ``qdiss studies``. ``qdiss --help`` for more.
"""

from ._main import main as main
