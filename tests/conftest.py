import os

# one OpenMP thread per process: the suite runs two workers on two cores (pytest -n 2), and
# MXNet's default of a thread per core in each would oversubscribe them; set before MXNet loads
# (the processes the tests start inherit it)
os.environ.setdefault('OMP_NUM_THREADS', '1')

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    mx.random.seed(7)
    np.random.seed(7)


def pytest_collection_modifyitems(items):
    """The ``slow`` tests first (each worker of ``pytest -n 2`` takes tests in this order): a
    long test started last would keep one core busy after the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)
