"""The fast formulations of the squeeze, the rescaling, the G-filter average and the squeeze
hand-on compute what the earlier ones (the versions of ``ini_gluon.layers.formulation``) do:
same outputs and gradients, for every attention layer and for every version the benchmark
times.  Each comparison first checks that the earlier formulation really ran (its functions were
called, the hand-on really switched off), so that no case compares the current code with
itself."""
import json
import threading
import types

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from ini_gluon.layers import create_attn, formulation, portable_graph, set_names
from ini_gluon.layers.formulation import CPU, PARTS, PORTABLE, Formulation
from ini_gluon.models import SqueezeChain, get_model

# the parts of a formulation, by their names
SQUEEZE, RESCALE, AVERAGE, CHAIN, IDENTITY = ('squeeze', 'rescale', 'average_filters',
                                              'hands_on_squeeze', 'squeeze_identity')
assert PARTS == (SQUEEZE, RESCALE, AVERAGE, CHAIN, IDENTITY)


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


def _called(reached):
    """The parts of the forced formulation that differ from the current code's and were
    called."""
    assert set(reached.unused()) == {p for p, n in reached.calls.items() if not n}
    return {p for p in reached.formulation.replaced(CPU) if reached.calls.get(p)}


@pytest.mark.parametrize('name', ['se', 'cmpe_se_doublefc', 'cmpe_se_1x1', 'cmpe_se_3x3',
                                  'ini_square3d_spa4'] +
                         ['ini_' + s for s in set_names()] + ['ini_mix5d_concat'])
def test_fast_path_equals_reference(name):
    attn = create_attn(name, 64, width=64, map_cols=16)
    attn.initialize(mx.init.Normal(0.5))
    u, x, head = (mx.nd.random.normal(shape=(3, 64, 5, 6)) for _ in range(3))
    fast = _run_layer(attn, u, x, head)
    with formulation.use('reference') as reached:
        ref = _run_layer(attn, u, x, head)
    # the reference's own squeeze, rescaling and G-filter average (InI and the pair-view
    # CMPE-SE modes, whose 1x1 / 2x1 / 3x3 filters are G-filters) ran, not the current ones
    g_filters = name not in ('se', 'cmpe_se_doublefc')
    uses_identity = name != 'se' and 'nojoint' not in name
    expected = ({SQUEEZE, RESCALE} | ({AVERAGE} if g_filters else set()) |
                ({IDENTITY} if uses_identity else set()))
    assert _called(reached) == expected
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
    assert set(CHANGES) == {v.name for v in formulation.VERSIONS}


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


def _changed(reached, current, other):
    """The parts of a version that changed what ``other`` runs."""
    changed = _called(reached) - {CHAIN}
    if (CHAIN in reached.formulation.replaced(CPU) and _hands_on(current)
            and not _hands_on(other)):
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
    with formulation.use(version) as reached:
        net = _build(model, params)
        result = _run_net(net, data)
    return reached, _changed(reached, current, net), result


@pytest.mark.parametrize('model', MODELS)
@pytest.mark.parametrize('version', [v.name for v in formulation.VERSIONS
                                     if v.formulation.replaced(CPU)])
def test_benchmarked_versions_compute_the_same(version, model, current_nets):
    """Every formulation the benchmark times (docs/benchmarks.md) gives the current outputs and
    gradients (float64: the versions sum in different orders), and changes what the model runs
    exactly where it should."""
    reached, changed, result = _version_run(version, model, current_nets)
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
    good = getattr(formulation.version('reference').formulation, target)
    broken = CPU._replace(name='broken', **{target: _off_by(1.001, good)})
    reached, changed, result = _version_run(broken, model, current_nets)
    assert changed == {target}
    with pytest.raises(AssertionError):
        _assert_same(current_nets[model][3], result, rtol=1e-5, atol=1e-9)


def test_a_misnamed_or_missing_part_is_refused():
    """A formulation names each of its parts and holds a function for each: one that would
    switch nothing, or something else than it says, is refused before anything runs."""
    with pytest.raises(ValueError, match='excite'):
        CPU._replace(excite=abs)                                  # no part of that name
    with pytest.raises(TypeError, match='excite'):
        Formulation(excite=abs, **CPU._asdict())
    with pytest.raises(TypeError, match='squeeze_identity'):
        Formulation(*CPU[:-1])                                    # a part left out
    for part, value in ((RESCALE, None), (SQUEEZE, 'pooling_squeeze'), (CHAIN, False)):
        with pytest.raises(TypeError, match='its %s is' % part):
            with formulation.use(CPU._replace(**{part: value})):
                pass
    with pytest.raises(TypeError, match='not a formulation'):
        with formulation.use(formulation.pooling_squeeze):
            pass
    with pytest.raises(KeyError, match='expected one of reference'):
        formulation.version('fastest')
    with pytest.raises(KeyError, match='expected one of reference'):
        with formulation.use('fastest'):
            pass
    assert formulation.forced() is None                           # nothing left forced


def test_a_forced_formulation_reaches_every_place_that_computes_a_part():
    """What reads the formulation reads the forced one: the channel attention (squeeze,
    identity squeeze, rescaling), CBAM, the G-filter bank (the ε average), a residual stage when
    it is built (the hand-on rule) and a residual block's merge (the identity squeeze); on exit,
    also on an error, the formulation is the one before."""
    u, x = (mx.nd.random.normal(shape=(2, 64, 5, 6)) for _ in range(2))
    for name, parts in (('se', {SQUEEZE, RESCALE}), ('cbam', {SQUEEZE, RESCALE}),
                        ('cmpe_se_doublefc', {SQUEEZE, RESCALE, IDENTITY}),
                        ('ini_mix5d', {SQUEEZE, RESCALE, IDENTITY, AVERAGE})):
        attn = create_attn(name, 64, width=64, map_cols=16)
        attn.initialize()
        with formulation.use('reference') as reached:
            attn(u, x)
        assert {p for p, n in reached.calls.items() if n} == parts, name
    with formulation.use('reference') as reached:
        net = get_model('cmpe_se_doublefc_resnet20', classes=10)      # pre-activation stages
        assert {p for p, n in reached.calls.items() if n} == {CHAIN}   # built, not yet run
        net.initialize()
        net(mx.nd.zeros((1, 3, 32, 32)))
    # the identity squeezed by the blocks' merge, which hands it to the attention
    assert {p for p, n in reached.calls.items() if n} == {SQUEEZE, RESCALE, IDENTITY, CHAIN}
    with pytest.raises(RuntimeError):
        with formulation.use('reference'):
            raise RuntimeError
    assert formulation.forced() is None
    assert formulation.in_use(mx.nd, None, u) is CPU


def test_the_innermost_formulation_applies_on_its_own_thread():
    """Contexts nest, the innermost applies and the outer one is back after it; another thread
    sees none of them (Gluon traces on the calling thread)."""
    seen = []
    with formulation.use('reference'):
        with portable_graph():
            assert formulation.forced().name == 'portable'
            thread = threading.Thread(target=lambda: seen.append(formulation.forced()))
            thread.start()
            thread.join()
        assert formulation.forced().name == 'reference'
    assert seen == [None] and formulation.forced() is None


@pytest.mark.parametrize('name,shape', [
    ('ini_resnet20_mix5d', 32), ('cmpe_se_doublefc_resnet20', 32), ('ini_resnet29_square3', 32),
    ('ini_wrn16_2_mix5d_spa4', 32), ('cmpe_se_1x1_wrn16_2', 32), ('ini_resnet18_v2_mix5d', 64),
    ('ini_pyramidnet20_a18_mix5d', 32), ('cmpe_se_doublefc_pyramidnet20_a12', 32)])
@pytest.mark.parametrize('hybrid', [False, True])
def test_handing_on_the_identity_squeeze_computes_the_same(name, shape, hybrid, tmp_path):
    """A block that hands its output's squeeze on (x_hat + s * u_hat) gives the network the
    outputs and gradients of every block squeezing its identity itself."""
    data = mx.nd.random.normal(shape=(2, 3, shape, shape), dtype='float64')
    chained = _build(name)
    chained(data)
    chained.save_parameters(str(tmp_path / 'p.params'))
    unchained = CPU._replace(name='unchained', hands_on_squeeze=formulation.no_chaining)
    with formulation.use(unchained):
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
    with portable_graph():
        portable = _run_layer(attn, u, x, head)
    _assert_same(cpu, portable)
    attn.hybridize()
    attn(u, x)
    assert 'batch_dot' in _graph_operators(attn)
    with portable_graph():
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


def _plain(f):
    """``f`` without the call counting of a :func:`formulation.use` body."""
    return f._replace(**{p: getattr(getattr(f, p), '__wrapped__', getattr(f, p)) for p in PARTS})


def test_the_formulation_follows_the_device():
    u = mx.sym.var('u')
    f = formulation.in_use
    assert f(mx.sym, _Placed(mx.cpu()), u) is CPU
    assert f(mx.sym, _Placed(mx.gpu(0), mx.gpu(1)), u) is PORTABLE
    assert f(mx.sym, _Placed(mx.cpu(), mx.gpu(0)), u) is PORTABLE     # any GPU: GPU memory
    assert f(mx.sym, _Placed(), u) is PORTABLE                        # no parameters
    assert f(mx.nd, None, mx.nd.ones((1, 2, 3, 3))) is CPU            # an NDArray's own place
    with portable_graph():
        assert _plain(f(mx.sym, _Placed(mx.cpu()), u)) == PORTABLE
    assert f(mx.sym, _Placed(mx.cpu()), u) is CPU
    reference = formulation.version('reference').formulation
    with formulation.use(reference):                                  # forced: on every device
        assert _plain(f(mx.sym, _Placed(mx.gpu(0)), u)) == reference
