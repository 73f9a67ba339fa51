"""`uasyncio`, the name older firmware gave `asyncio` (the reference NoMQ's scripts import it);
this unix port has only `asyncio`. Its names are copied here (`from asyncio import *` stops at
asyncio's lazy __getattr__), and the ones asyncio loads on first use come through ours."""
import asyncio as _asyncio

for _name, _value in _asyncio.__dict__.items():
    if not _name.startswith("__"):
        globals()[_name] = _value
del _name, _value


def __getattr__(name):
    return getattr(_asyncio, name)
