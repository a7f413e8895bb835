import gc
import os

import pytest

# one OpenMP thread per process: the suite runs two workers on two cores (pytest -n 2), and
# MXNet's default of a thread per core in each would oversubscribe them; set before MXNet loads
# (the processes the tests start inherit it)
os.environ.setdefault('OMP_NUM_THREADS', '1')


def pytest_configure(config):
    """The project first, before any test module imports MXNet: it imports MXNet without
    scikit-learn (1 s).  Not in the controller of ``pytest -n 2``, which runs no test and would
    spend that second while its two workers start on the two cores."""
    if getattr(config.option, 'numprocesses', None) and not hasattr(config, 'workerinput'):
        return
    import ini_gluon  # noqa: F401


@pytest.fixture(autouse=True)
def _seed():
    import mxnet as mx
    import numpy as np
    mx.random.seed(7)
    np.random.seed(7)


def pytest_collection_modifyitems(items):
    """The ``slow`` tests first (each worker of ``pytest -n 2`` takes tests in this order): a
    long test started last would keep one core busy after the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)


def pytest_collection_finish(session):
    """What is loaded by now (MXNet, the project, the test modules) lives as long as the worker:
    frozen, the full collections stop walking it again and again (they took 25 s of CPU over
    the suite); each generation collects after more allocations than Python's default."""
    gc.freeze()
    gc.set_threshold(20000, 20, 100)
