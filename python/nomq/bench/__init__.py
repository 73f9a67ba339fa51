"""Benchmarks of the Python API: ``python -m nomq.bench mqtt ...`` (see ``__main__``)."""
