"""The fast formulations of the squeeze, the rescaling, the G-filter average and the squeeze
hand-on compute what the earlier ones (``ini_gluon.formulations``) do: same outputs and
gradients, for every attention layer and for every version the benchmark times.  Each
comparison first checks that the earlier formulation really ran (its functions were called,
the hand-on really switched off), so that no case compares the current code with itself."""
import json
import types

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

import ini_gluon.models
from ini_gluon import formulations
from ini_gluon.formulations import AVERAGE, CHAIN, IDENTITY, RESCALE, SQUEEZE, Version
from ini_gluon.layers import channel_attention, create_attn, set_names
from ini_gluon.models import SqueezeChain, get_model


def _run_layer(attn, u, x, head):
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


def _assert_same(a, b, rtol=1e-5, atol=1e-6):
    for left, right in zip(a[:-1], b[:-1]):
        np.testing.assert_allclose(left, right, rtol=rtol, atol=atol)
    assert a[-1].keys() == b[-1].keys() and a[-1]
    for key, grad in a[-1].items():
        np.testing.assert_allclose(grad, b[-1][key], rtol=rtol,
                                   atol=atol * max(1.0, np.abs(grad).max()), err_msg=key)


def _called(switch):
    assert set(switch.unused()) == {t for t, n in switch.calls.items() if not n}
    return {target for target, n in switch.calls.items() if n}


@pytest.mark.parametrize('name', ['se', 'cmpe_se_doublefc', 'cmpe_se_1x1', 'cmpe_se_3x3',
                                  'ini_square3d_spa4'] +
                         ['ini_' + s for s in set_names()] + ['ini_mix5d_concat'])
def test_fast_path_equals_reference(name):
    attn = create_attn(name, 64, width=64, map_cols=16)
    attn.initialize(mx.init.Normal(0.5))
    u, x, head = (mx.nd.random.normal(shape=(3, 64, 5, 6)) for _ in range(3))
    fast = _run_layer(attn, u, x, head)
    with formulations.use('reference') as switch:
        ref = _run_layer(attn, u, x, head)
    # the reference's own squeeze, rescaling and G-filter average (InI and the pair-view
    # CMPE-SE modes, whose 1x1 / 2x1 / 3x3 filters are G-filters) ran, not the current ones
    g_filters = name not in ('se', 'cmpe_se_doublefc')
    uses_identity = name != 'se' and 'nojoint' not in name
    expected = ({SQUEEZE, RESCALE} | ({AVERAGE} if g_filters else set()) |
                ({IDENTITY} if uses_identity else set()))
    assert _called(switch) == expected
    _assert_same(fast, ref)
    assert (np.abs(fast[2]).max() > 0) == uses_identity


# What each version changes in each model, worked out from the models: SE has no G-filters and
# no identity squeeze to hand on, so the versions that change only those leave it as it is;
# double-FC CMPE-SE squeezes its identity but has no G-filters.
MODELS = {'se_resnet20': 'se', 'cmpe_se_doublefc_resnet20': 'competitive',
          'ini_resnet20_mix5d': 'g_filters', 'se_wrn16_2': 'se',
          'cmpe_se_1x1_wrn16_2': 'g_filters', 'ini_wrn16_2_mix5d': 'g_filters'}
# The versions before the current one also replace the squeeze and the rescaling of every model
# (BEFORE_COLUMNS) and the ε average of those with G-filters; the reference also squeezes the
# identity otherwise, where a model squeezes it.
BEFORE_COLUMNS = {SQUEEZE, RESCALE}
CHANGES = {
    'reference': {'se': BEFORE_COLUMNS, 'competitive': BEFORE_COLUMNS | {CHAIN, IDENTITY},
                  'g_filters': BEFORE_COLUMNS | {AVERAGE, CHAIN, IDENTITY}},
    'fast squeeze + rescale': {'se': BEFORE_COLUMNS, 'competitive': BEFORE_COLUMNS | {CHAIN},
                               'g_filters': BEFORE_COLUMNS | {AVERAGE, CHAIN}},
    'ε average by convolution': {'se': BEFORE_COLUMNS, 'competitive': BEFORE_COLUMNS | {CHAIN},
                                 'g_filters': BEFORE_COLUMNS | {AVERAGE, CHAIN}},
    'squeeze hand-on': {'se': BEFORE_COLUMNS, 'competitive': BEFORE_COLUMNS,
                        'g_filters': BEFORE_COLUMNS | {AVERAGE}},
    'batch_dot rescale (not adopted)': {'se': BEFORE_COLUMNS, 'competitive': BEFORE_COLUMNS,
                                        'g_filters': BEFORE_COLUMNS | {AVERAGE}},
    'current': {'se': set(), 'competitive': set(), 'g_filters': set()},
}


def test_every_version_is_described():
    assert set(CHANGES) == {v.name for v in formulations.VERSIONS}


def _build(model, params=None):
    net = get_model(model, classes=10)
    net.initialize(mx.init.Xavier())
    net.cast('float64')
    if params is not None:
        net.load_parameters(params)
    return net


def _run_net(net, data):
    with autograd.record():
        out = net(data)
    out.backward(mx.nd.ones_like(out))
    return out.asnumpy(), {k[len(net.prefix):]: p.grad().asnumpy()
                           for k, p in net.collect_params().items() if p.grad_req != 'null'}


def _hands_on(net):
    """How many blocks of ``net``'s stages hand their output's squeeze on."""
    features = [net.features[i] for i in range(len(net.features))]
    return sum(sum(stage.hand_on) for stage in features if isinstance(stage, SqueezeChain))


def _changed(switch, current, other):
    """The functions of a version that changed what ``other`` runs."""
    changed = _called(switch) - {CHAIN}
    if CHAIN in switch.calls and _hands_on(current) and not _hands_on(other):
        changed.add(CHAIN)
    return changed


@pytest.fixture(scope='module')
def current_nets(tmp_path_factory):
    """Each model with the current code, its parameters saved, its outputs and gradients."""
    found = {}
    for model in MODELS:
        data = mx.nd.random.normal(shape=(2, 3, 32, 32), dtype='float64')
        net = _build(model)
        net(data)
        params = str(tmp_path_factory.mktemp('p') / 'p.params')
        net.save_parameters(params)
        found[model] = (net, params, data, _run_net(net, data))
    return found


def _version_run(version, model, current_nets):
    current, params, data, _ = current_nets[model]
    with formulations.use(version) as switch:
        net = _build(model, params)
        result = _run_net(net, data)
    return switch, _changed(switch, current, net), result


@pytest.mark.parametrize('model', MODELS)
@pytest.mark.parametrize('version', [v.name for v in formulations.VERSIONS if v.patches])
def test_benchmarked_versions_compute_the_same(version, model, current_nets):
    """Every formulation the benchmark times (docs/benchmarks.md) gives the current outputs and
    gradients (float64: the versions sum in different orders), and changes what the model runs
    exactly where it should."""
    switch, changed, result = _version_run(version, model, current_nets)
    assert changed == CHANGES[version][MODELS[model]]
    _assert_same(current_nets[model][3], result, rtol=1e-5, atol=1e-9)


def _off_by(factor, fn):
    def broken(*args):
        return fn(*args) * factor
    return broken


@pytest.mark.parametrize('target,model', [(SQUEEZE, 'se_resnet20'), (RESCALE, 'se_wrn16_2'),
                                          (AVERAGE, 'ini_resnet20_mix5d')])
def test_a_reference_that_computes_something_else_is_caught(target, model, current_nets):
    """The comparison above fails when a replaced function is off by 0.1 %."""
    good = formulations.version('reference').patches[target]
    broken = Version('broken', {target: _off_by(1.001, good)}, '', '')
    switch, changed, result = _version_run(broken, model, current_nets)
    assert changed == {target}
    with pytest.raises(AssertionError):
        _assert_same(current_nets[model][3], result, rtol=1e-5, atol=1e-9)


def test_a_switch_that_matches_nothing_is_an_error():
    missing = Version('missing', {'ini_gluon.layers.channel_attention.excite': abs}, '', '')
    with pytest.raises(LookupError, match='channel_attention has no function'):
        with formulations.use(missing):
            pass
    nowhere = Version('nowhere', {'ini_gluon.layers.attention.squeeze': abs}, '', '')
    with pytest.raises(LookupError, match='no module ini_gluon.layers.attention'):
        with formulations.use(nowhere):
            pass
    with pytest.raises(KeyError, match='expected one of reference'):
        formulations.version('fastest')


def test_family_modules_keep_their_names():
    """``ini_gluon.models.cifar_wrn`` is the module, so that replacing a function in it reaches
    the code that calls it."""
    for name in ('cifar_resnet', 'cifar_wrn', 'imagenet_resnet', 'residual', 'families', 'names',
                 'templates', 'listing', 'suggest', 'factory'):
        assert isinstance(getattr(ini_gluon.models, name), types.ModuleType), name


def test_a_switch_reaches_every_module_that_holds_the_function():
    with formulations.use('reference') as switch:
        assert {'ini_gluon.layers.channel_attention.squeeze',
                'ini_gluon.layers.squeeze'} <= set(switch.places[SQUEEZE])
        assert switch.places[CHAIN] == ['ini_gluon.models.residual.hands_on_squeeze']
    from ini_gluon.layers import channel_attention
    assert channel_attention.squeeze.__name__ == 'squeeze'        # undone on exit


@pytest.mark.parametrize('name,shape', [
    ('ini_resnet20_mix5d', 32), ('cmpe_se_doublefc_resnet20', 32), ('ini_resnet29_square3', 32),
    ('ini_wrn16_2_mix5d_spa4', 32), ('cmpe_se_1x1_wrn16_2', 32), ('ini_resnet18_v2_mix5d', 64),
    ('ini_pyramidnet20_a18_mix5d', 32), ('cmpe_se_doublefc_pyramidnet20_a12', 32)])
@pytest.mark.parametrize('hybrid', [False, True])
def test_handing_on_the_identity_squeeze_computes_the_same(name, shape, hybrid, tmp_path):
    """A block that hands its output's squeeze on (x_hat + s * u_hat) gives the network the
    outputs and gradients of every block squeezing its identity itself."""
    data = mx.nd.random.normal(shape=(4, 3, shape, shape), dtype='float64')
    chained = _build(name)
    chained(data)
    chained.save_parameters(str(tmp_path / 'p.params'))
    with formulations.use(Version('unchained', {CHAIN: formulations.no_chaining}, '', '')):
        direct = _build(name, str(tmp_path / 'p.params'))
    assert _hands_on(chained) >= 1 and _hands_on(direct) == 0
    results = []
    for net in (chained, direct):
        if hybrid:
            net.hybridize()
        results.append(_run_net(net, data))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-7, atol=1e-9)
    assert results[0][1].keys() == results[1][1].keys()
    for key, grad in results[0][1].items():
        np.testing.assert_allclose(grad, results[1][1][key], rtol=1e-5,
                                   atol=1e-7 * np.abs(grad).max() + 1e-12, err_msg=key)


def _graph_operators(block):
    return {node['op'] for node in json.loads(block._cached_graph[1].tojson())['nodes']}


@pytest.mark.parametrize('name', ['se', 'cmpe_se_doublefc', 'cmpe_se_3x3', 'ini_mix5d',
                                  'ini_square3d_spa4', 'cbam'])
def test_the_cpu_and_the_portable_formulation_compute_the_same(name):
    """The CPU's columns formulation and the portable one (GPUs, exports) give the same outputs
    and gradients, and each graph holds its own operators."""
    attn = create_attn(name, 64, width=64, map_cols=16)
    attn.initialize(mx.init.Normal(0.5))
    attn.cast('float64')               # float64: CBAM's channel max must not flip on a rounding
    u, x, head = (mx.nd.random.normal(shape=(3, 64, 5, 6), dtype='float64') for _ in range(3))
    cpu = _run_layer(attn, u, x, head)
    with channel_attention.portable_graph():
        portable = _run_layer(attn, u, x, head)
    _assert_same(cpu, portable)
    attn.hybridize()
    attn(u, x)
    assert 'batch_dot' in _graph_operators(attn)
    with channel_attention.portable_graph():
        attn.hybridize()                                  # traced again, inside
        attn(u, x)
    assert 'batch_dot' not in _graph_operators(attn)
    assert {'broadcast_mul', '_contrib_AdaptiveAvgPooling2D'} <= _graph_operators(attn)


class _Placed(object):
    """A stand-in for a layer whose parameters live on ``contexts``."""

    def __init__(self, *contexts):
        self.contexts = contexts

    def collect_params(self):
        return {'w': types.SimpleNamespace(list_ctx=lambda: list(self.contexts))}


def test_the_formulation_follows_the_device():
    cpu, portable = ((channel_attention.squeeze, channel_attention.rescale),
                     (channel_attention.portable_squeeze, channel_attention.portable_rescale))
    u = mx.sym.var('u')
    f = channel_attention.formulation
    assert f(mx.sym, _Placed(mx.cpu()), u) == cpu
    assert f(mx.sym, _Placed(mx.gpu(0), mx.gpu(1)), u) == portable
    assert f(mx.sym, _Placed(mx.cpu(), mx.gpu(0)), u) == portable     # any GPU: GPU memory
    assert f(mx.sym, _Placed(), u) == portable                        # no parameters
    assert f(mx.nd, None, mx.nd.ones((1, 2, 3, 3))) == cpu            # an NDArray's own place
    with channel_attention.portable_graph():
        assert f(mx.sym, _Placed(mx.cpu()), u) == portable
    assert f(mx.sym, _Placed(mx.cpu()), u) == cpu
