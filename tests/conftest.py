import mxnet as mx
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed():
    mx.random.seed(7)
    np.random.seed(7)


def pytest_collection_modifyitems(items):
    """The ``slow`` tests first (each worker of ``pytest -n 2`` takes tests in this order): a
    long test started last would keep one core busy after the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)
