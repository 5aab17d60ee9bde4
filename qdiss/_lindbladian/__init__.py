"""Representations of a Lindbladian: the abstract interface (``_abstract.py``), the state
spaces (``_space.py``), the dense Lindbladian (``dense.py``), symmetry sectors
(``sectors.py``), the permutation-invariant family (``permutation/``) and a bare superoperator
matrix (``superop.py``)."""

from ._abstract import AbstractLindbladian as AbstractLindbladian
from ._space import (
    AbstractSpace as AbstractSpace,
    BlockSpace as BlockSpace,
    DenseSpace as DenseSpace,
)
from .dense import Lindbladian as Lindbladian, top_level_populations as top_level_populations
from .permutation import (
    PermutationInvariantLindbladian as PermutationInvariantLindbladian,
    dicke_lindbladian as dicke_lindbladian,
    pi_from_dense as pi_from_dense,
    pi_to_dense as pi_to_dense,
)
from .sectors import SectorLindbladian as SectorLindbladian
from .superop import Superoperator as Superoperator, as_lindbladian as as_lindbladian
