"""The fast formulations of the squeeze, the rescaling and the G-filter average compute what the
reference ones do: same outputs and gradients (relative 1e-5) for SE and for every G-filter
set."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from ini_gluon.layers import channel_attention, create_attn, inner_imaging, set_names


def _benchmark_versions():
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        'benchmarks', 'throughput.py')
    spec = importlib.util.spec_from_file_location('throughput', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VERSIONS


VERSIONS = _benchmark_versions()


def _patch(monkeypatch, patches):
    """Swap in a benchmarked version's functions in the attention layers."""
    for fn_name, fn in patches.items():
        for module in (channel_attention, inner_imaging):
            if hasattr(module, fn_name):
                monkeypatch.setattr(module, fn_name, fn)


def _run(attn, u, x, head):
    u, x = u.copy(), x.copy()
    u.attach_grad()
    x.attach_grad()
    # BatchNorm with running statistics: an affine map, so that the comparison is not swamped
    # by the cancellation in the batch-statistics gradient
    with autograd.record(train_mode=False):
        out = attn(u, x)
    out.backward(head)
    grads = {n: p.grad().asnumpy().copy() for n, p in attn.collect_params().items()
             if p.grad_req != 'null'}
    return out.asnumpy(), u.grad.asnumpy(), x.grad.asnumpy(), grads


@pytest.mark.parametrize('name', ['se', 'cmpe_se_doublefc', 'cmpe_se_1x1', 'cmpe_se_3x3',
                                  'ini_square3d_spa4'] +
                         ['ini_' + s for s in set_names()] + ['ini_mix5d_concat'])
def test_fast_path_equals_reference(name, monkeypatch):
    attn = create_attn(name, 64, width=64, map_cols=16)
    attn.initialize(mx.init.Normal(0.5))
    u = mx.nd.random.normal(shape=(3, 64, 5, 6))
    x = mx.nd.random.normal(shape=(3, 64, 5, 6))
    head = mx.nd.random.normal(shape=(3, 64, 5, 6))
    fast = _run(attn, u, x, head)
    reference = {v[0]: v[1] for v in VERSIONS}['reference']   # Pooling, broadcast_mul, mean
    _patch(monkeypatch, reference)
    ref = _run(attn, u, x, head)
    for a, b in zip(fast[:3], ref[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert fast[3].keys() == ref[3].keys() and fast[3]
    for key in fast[3]:
        np.testing.assert_allclose(fast[3][key], ref[3][key], rtol=1e-5, atol=1e-6,
                                   err_msg=key)
    uses_identity = name != 'se' and 'nojoint' not in name
    assert (np.abs(fast[2]).max() > 0) == uses_identity


@pytest.mark.parametrize('version', VERSIONS, ids=lambda v: v[0])
@pytest.mark.parametrize('name', ['se', 'cmpe_se_3x3', 'ini_mix5d'])
def test_benchmarked_versions_compute_the_same(version, name, monkeypatch):
    """Every formulation the benchmark times (docs/benchmarks.md) gives the current outputs and
    gradients, so its rows compare the same computation."""
    label, patches, _, _ = version
    attn = create_attn(name, 64, width=64, map_cols=16)
    attn.initialize(mx.init.Normal(0.5))
    # float64: the versions sum in different orders, and some gradients (BatchNorm's gamma)
    # are small differences of large terms, where float32 rounding is not small
    attn.cast('float64')
    u, x, head = (mx.nd.random.normal(shape=(3, 64, 5, 6), dtype='float64') for _ in range(3))
    current = _run(attn, u, x, head)
    _patch(monkeypatch, patches)
    other = _run(attn, u, x, head)
    assert current[3]
    for a, b in list(zip(current[:3], other[:3])) + [(current[3][k], other[3][k])
                                                    for k in current[3]]:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize('name,shape', [
    ('ini_resnet20_mix5d', 32), ('cmpe_se_doublefc_resnet20', 32), ('ini_resnet29_square3', 32),
    ('ini_wrn16_2_mix5d_spa4', 32), ('cmpe_se_1x1_wrn16_2', 32), ('ini_resnet18_v2_mix5d', 64)])
@pytest.mark.parametrize('hybrid', [False, True])
def test_handing_on_the_identity_squeeze_computes_the_same(name, shape, hybrid, tmp_path):
    """A block that hands its output's squeeze on (x_hat + s * u_hat) gives the network the
    outputs and gradients of every block squeezing its identity itself."""
    from ini_gluon.models import get_model
    from ini_gluon.summary import residual_blocks

    data = mx.nd.random.normal(shape=(4, 3, shape, shape), dtype='float64')
    nets = []
    for _ in range(2):
        net = get_model(name, classes=10)
        net.initialize(mx.init.Xavier())
        net.cast('float64')
        net(data)
        nets.append(net)
    nets[0].save_parameters(str(tmp_path / 'p.params'))
    nets[1].load_parameters(str(tmp_path / 'p.params'))
    chained, direct = nets
    blocks = [b for _, b in residual_blocks(direct)]
    assert sum(b.hands_on_squeeze for b in blocks) >= 1
    for b in blocks:
        b.hands_on_squeeze = False
    results = []
    for net in (chained, direct):
        if hybrid:
            net.hybridize()
        with autograd.record():
            out = net(data)
        out.backward(mx.nd.ones_like(out))
        results.append((out.asnumpy(), {k[len(net.prefix):]: p.grad().asnumpy()
                                        for k, p in net.collect_params().items()
                                        if p.grad_req != 'null'}))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-7, atol=1e-9)
    assert results[0][1].keys() == results[1][1].keys()
    for key, grad in results[0][1].items():
        np.testing.assert_allclose(grad, results[1][1][key], rtol=1e-5,
                                   atol=1e-7 * np.abs(grad).max() + 1e-12, err_msg=key)
