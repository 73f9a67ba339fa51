"""The reference NoMQ's import path, `from NoMQ.nomq import NoMQ, SimpleLogger` (and
`NoMQ.logger`), as the module nomq.compat.

This is a module file rather than a `NoMQ/` folder on purpose: beside the `nomq/` folder, a
`NoMQ/` folder would be the same name on case-insensitive file systems (a checkout on macOS or
Windows; FAT on a board), while `NoMQ.py` and `nomq/` are not. Registering the submodule names
in sys.modules is enough for MicroPython's import to find them, as for CPython's.
"""
import sys

import nomq.compat

nomq = sys.modules["nomq.compat"]

# `import NoMQ.nomq` / `from NoMQ.nomq import ...` and `from NoMQ.logger import SimpleLogger`.
sys.modules["NoMQ.nomq"] = nomq
sys.modules["NoMQ.logger"] = nomq
logger = nomq
