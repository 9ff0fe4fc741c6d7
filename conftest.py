"""The test tiers' rules, for the tests and for the package's doctests alike (fixtures: tests/conftest.py)."""

from __future__ import annotations

import sys

import pytest
from _pytest.doctest import DoctestItem

# Modules that import Keras as they load (they define Keras layers): never collected by the unit tier.
KERAS_MODULES = {"head_model.py"}


def pytest_ignore_collect(collection_path, config) -> bool | None:
    if config.getoption("markexpr") == "unit" and collection_path.name in KERAS_MODULES:
        return True
    return None


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if isinstance(item, DoctestItem):  # the docstrings' examples are numpy and plain Python
            item.add_marker(pytest.mark.unit)


def pytest_sessionfinish(session, exitstatus) -> None:
    """The unit tier's promise: no test in it imported TensorFlow."""
    if session.config.getoption("markexpr") == "unit" and "tensorflow" in sys.modules:
        sys.stderr.write("\nerror: a test marked unit imported TensorFlow; mark it otherwise or mend the import\n")
        session.exitstatus = 1
