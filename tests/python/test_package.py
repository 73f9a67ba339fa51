"""The installed wheel imports and reports the version of the Rust crates it was built from."""
import pathlib
import re

import nomq


def test_version_matches_the_workspace():
    cargo = (pathlib.Path(__file__).parents[2] / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    assert nomq.__version__ == version
    assert nomq.__all__ == ["__version__"]
