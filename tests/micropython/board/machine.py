"""The unix port's `machine` module plus `unique_id()`, which scripts written for a board use
(the reference NoMQ's sender puts it in its messages). MicroPython lets a .py file of the same
name extend this built-in module: with sys.path emptied, the import below finds the built-in
one, whose names are copied here."""
import sys

_path = sys.path
sys.path = []
try:
    from machine import *  # noqa: F401,F403 - the built-in module's names
finally:
    sys.path = _path
    del _path

if "unique_id" not in globals():

    def unique_id():
        """A fixed 6-byte id, as a board's MAC-derived one."""
        return b"\x02\x00\x00\x00\x00\x01"
