"""Models: each family builds a ``qdiss.Lindbladian`` (or a channel) from real parameters.

- :mod:`qdiss.models.emitters`: light-emitter ensembles, spin squeezing (arXiv:2402.16824).
- :mod:`qdiss.models.magnon`: qubits in a pumped magnon bath (arXiv:2508.18131).
- :mod:`qdiss.models.eplt`: entanglement-preserving local thermalisation (arXiv:1904.07945).
- :mod:`qdiss.models.reference`: benchmarks with exact solutions (driven cavity, driven Kerr
  resonator, cooperative resonance fluorescence, Dicke dimer).
- :mod:`qdiss.models.kerr`: two Kerr resonators driven by an entangled (two-mode-squeezed) bath
  (Coppo et al. 2026).
- :mod:`qdiss.models.sync`: macroscopic synchronisation of two-level ensembles (arXiv:2511.10920).
"""

from . import (
    emitters as emitters,
    eplt as eplt,
    kerr as kerr,
    magnon as magnon,
    reference as reference,
    sync as sync,
)
