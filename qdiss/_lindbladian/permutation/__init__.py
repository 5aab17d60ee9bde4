"""The permutation-invariant representation of N identical two-level systems: Dicke tables
(``_dicke.py``), the elementary band terms of the generator (``_terms.py``), the Lindbladian
and its conversions (``lindbladian.py``), its block-sweep preconditioner
(``preconditioner.py``) and its figures of merit (``measures.py``)."""

from .lindbladian import (
    PermutationInvariantLindbladian as PermutationInvariantLindbladian,
    dicke_lindbladian as dicke_lindbladian,
    pi_from_dense as pi_from_dense,
    pi_to_dense as pi_to_dense,
)
