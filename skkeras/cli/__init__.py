"""The ``skkeras`` command line: ``demo``, ``tune`` and ``predict``.

Importing this package is cheap: Keras, Optuna, pandas and matplotlib are imported only when a
command runs, so ``skkeras --help`` answers at once.
"""

from ._errors import CLIError
from ._main import build_parser, main

__all__ = ["CLIError", "build_parser", "main"]
