"""The reference implementation's import path: ``from NoMQ.nomq import NoMQ, SimpleLogger``.

Scripts written for the reference import from the ``NoMQ`` folder of its repository. This is a
module file rather than a ``NoMQ/`` folder: beside ``nomq/`` such a folder would have the same
name on case-insensitive file systems (macOS, Windows), and one of the two would be lost. Python
matches module names by exact case on those systems too, so ``NoMQ`` and ``nomq`` stay apart.

``NoMQ.nomq`` and ``NoMQ.logger`` (the reference's two modules) are ``nomq.compat``.
"""
import sys
from typing import List

from nomq import compat as nomq
from nomq.compat import NoMQ, SimpleLogger

logger = nomq

__all__ = ["NoMQ", "SimpleLogger", "nomq", "logger"]

# A package path makes ``NoMQ.nomq`` a submodule name; the import system finds both submodules
# in sys.modules, so the path stays empty.
__path__: List[str] = []
sys.modules[__name__ + ".nomq"] = nomq
sys.modules[__name__ + ".logger"] = nomq
