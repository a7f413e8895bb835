import mxnet as mx
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed():
    mx.random.seed(7)
    np.random.seed(7)
