"""``python -m qdiss.cli``: the ``qdiss`` command."""

import sys

from ._main import main

sys.exit(main())
