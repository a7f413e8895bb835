"""The attention layers: index mappings of the inner-imaged maps (eq. 4, 19, 24), G-filter
banks, aggregation, and whole modules against NumPy implementations of the equations."""
import mxnet as mx
import numpy as np
import pytest

from ini_gluon.layers import (GFilter, GFilterBank, InnerImaging, SpatialAttention, create_attn,
                              group_signals, inner_imaged_map, parse_g_filters)
import reference

U = np.arange(8, dtype='float32')           # residual signals 0..7
X = 100 + np.arange(8, dtype='float32')     # identity signals 100..107


def _map(layout, shape):
    u_hat = mx.nd.array(np.stack([U, -U]).reshape(2, 8, 1, 1))
    x_hat = mx.nd.array(np.stack([X, -X]).reshape(2, 8, 1, 1))
    return inner_imaged_map(mx.nd, u_hat, x_hat, layout, shape).asnumpy()


def test_fold_eq4():
    v = _map('fold', (2, 4))
    assert v.shape == (2, 1, 2, 4)
    np.testing.assert_array_equal(v[0, 0], [[0, 1, 2, 3],
                                            [4, 5, 6, 7]])
    np.testing.assert_array_equal(v[1, 0], -v[0, 0])


def test_stack_eq19():
    v = _map('stack', (2, 8))
    np.testing.assert_array_equal(v[0, 0], [[0, 1, 2, 3, 4, 5, 6, 7],
                                            [100, 101, 102, 103, 104, 105, 106, 107]])
    np.testing.assert_array_equal(v[1, 0], -v[0, 0])


def test_alternating_fold_eq24():
    v = _map('alt', (4, 4))
    np.testing.assert_array_equal(v[0, 0], [[0, 1, 2, 3],
                                            [100, 101, 102, 103],
                                            [4, 5, 6, 7],
                                            [104, 105, 106, 107]])
    v = _map('alt', (8, 2))
    np.testing.assert_array_equal(v[0, 0], [[0, 1], [100, 101], [2, 3], [102, 103],
                                            [4, 5], [104, 105], [6, 7], [106, 107]])
    np.testing.assert_array_equal(v[1, 0], -v[0, 0])


def test_alternating_fold_matches_original_reshape_transpose():
    """The original code builds (N, 1, C, 2) = [u | x], reshapes to (N, k, C/k, 2), transposes the
    last two axes and reshapes to (N, 1, 2k, C/k)."""
    c, k = 40, 5
    u, x = np.random.randn(3, c), np.random.randn(3, c)
    pairs = np.stack([u, x], axis=-1)[:, None]                  # (N, 1, C, 2)
    original = pairs.reshape(3, k, c // k, 2).transpose(0, 1, 3, 2).reshape(3, 1, 2 * k, c // k)
    ours = inner_imaged_map(mx.nd, mx.nd.array(u.reshape(3, c, 1, 1)),
                            mx.nd.array(x.reshape(3, c, 1, 1)), 'alt', (2 * k, c // k))
    np.testing.assert_allclose(ours.asnumpy(), original, rtol=1e-6)


@pytest.mark.parametrize('g, out', [((1, 1, 1), (20, 16)), ((3, 3, 1), (18, 14)),
                                    ((1, 5, 1), (20, 12)), ((5, 5, 2), (12, 8))])
def test_g_filter_bank_shape(g, out):
    bank = GFilterBank(GFilter(*g), num_filters=10)
    bank.initialize()
    y = bank(mx.nd.random.uniform(shape=(2, 1, 20, 16)))
    assert y.shape == (2, 1) + out


def test_group_signals_sum_and_concat():
    a = mx.nd.array(np.arange(6).reshape(1, 1, 2, 3))        # [[0 1 2] [3 4 5]]
    b = mx.nd.array([[[[10, 20]]]])                          # [[10 20]]
    summed = group_signals(mx.nd, [a, b], [(2, 3), (1, 2)], (2, 3), 'sum').asnumpy()
    np.testing.assert_allclose(summed[0, 0], [[5, 10.5, 1], [1.5, 2, 2.5]])
    concat = group_signals(mx.nd, [a, b], [(2, 3), (1, 2)], (2, 5), 'concat').asnumpy()
    np.testing.assert_allclose(concat[0, 0], [[0, 1, 2, 10, 20], [3, 4, 5, 0, 0]])


def _randomise_bn_stats(block):
    for name, p in block.collect_params().items():
        if name.endswith('running_mean'):
            p.set_data(mx.nd.random.normal(shape=p.shape))
        elif name.endswith('running_var'):
            p.set_data(mx.nd.random.uniform(0.5, 2.0, shape=p.shape))
        elif name.endswith('gamma') or name.endswith('beta'):
            p.set_data(mx.nd.random.normal(1.0 if name.endswith('gamma') else 0.0, 0.3,
                                           shape=p.shape))


def _run(attn, c, hybrid=False):
    attn.initialize(mx.init.Normal(0.5))
    _randomise_bn_stats(attn)
    if hybrid:
        attn.hybridize()
    u = np.random.randn(2, c, 4, 4).astype('float32')
    x = np.random.randn(2, c, 4, 4).astype('float32') + 0.5
    out = attn(mx.nd.array(u), mx.nd.array(x)).asnumpy()
    return u, x, out


@pytest.mark.parametrize('g_set, layout, aggregation, cols', [
    ('mix5d', 'alt', 'sum', 16),
    ('mix5d', 'alt', 'concat', 16),
    ('square3d', 'fold', 'sum', 8),
    ('simple3', 'stack', 'sum', 16),
    ('simple3', 'stack', 'concat', 16),
    ('horizon4', 'alt', 'concat', 8),
])
@pytest.mark.parametrize('hybrid', [False, True])
def test_inner_imaging_matches_equations(g_set, layout, aggregation, cols, hybrid):
    c = 64
    attn = InnerImaging(c, num_filters=3, g_filters=parse_g_filters(g_set), layout=layout,
                        map_cols=cols, aggregation=aggregation)
    u, x, out = _run(attn, c, hybrid)
    np.testing.assert_allclose(out, reference.inner_imaging(u, x, attn), rtol=1e-4, atol=1e-5)


def test_fold_ignores_the_identity():
    attn = InnerImaging(64, 2, parse_g_filters('square1'), layout='fold', map_cols=16)
    attn.initialize()
    u = mx.nd.random.normal(shape=(2, 64, 4, 4))
    a = attn(u, mx.nd.random.normal(shape=(2, 64, 4, 4)))
    b = attn(u, mx.nd.random.normal(shape=(2, 64, 4, 4)))
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


@pytest.mark.parametrize('hybrid', [False, True])
def test_se_matches_equations(hybrid):
    attn = create_attn('se', 64)
    u, _, out = _run(attn, 64, hybrid)
    np.testing.assert_allclose(out, reference.squeeze_excite(u, attn), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('hybrid', [False, True])
def test_double_fc_matches_equations(hybrid):
    attn = create_attn('cmpe_se_doublefc', 64)
    u, x, out = _run(attn, 64, hybrid)
    np.testing.assert_allclose(out, reference.double_fc(u, x, attn), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('mode, layout, g, shape', [
    ('1x1', 'stack', '1x1', (2, 64)), ('2x1', 'stack', '2x1', (2, 64)),
    ('3x3', 'alt', '3x3', (8, 16))])
def test_cmpe_se_pair_view_modes(mode, layout, g, shape):
    attn = create_attn('cmpe_se_' + mode, 64, width=64, map_cols=16)
    info = attn.describe()
    assert (info['layout'], info['map_shape'], info['kept'][0][0]) == (layout, shape, g)
    assert info['num_filters'] == 4                       # ε = 64 // 16
    u, x, out = _run(attn, 64)
    np.testing.assert_allclose(out, reference.inner_imaging(u, x, attn), rtol=1e-4, atol=1e-5)


def test_number_of_filters_follows_block_width():
    # a bottleneck with output 256 has width 64: ε = 64 // 16 = 4 (original code)
    attn = create_attn('ini_square1', 256, width=64, map_cols=16)
    assert attn.describe()['num_filters'] == 4
    assert attn.g_filters[0].conv.weight.shape == (4, 1, 3, 3)
    assert attn.encoder.fc1.weight.shape == (16, 30 * 14)     # C/16 x C^g
    assert attn.encoder.fc2.weight.shape == (256, 16)


@pytest.mark.parametrize('bad, message', [
    ('ini_mix5d_nojoint_concat_x', 'unknown attention'), ('cmpe_se_4x4', 'unknown attention'),
    ('ini_simple1_nojoint', "only 'fold' applies"), ('ini_square9', 'G-filter set')])
def test_bad_attention_names(bad, message):
    with pytest.raises(ValueError, match=message):
        create_attn(bad, 64)


@pytest.mark.parametrize('groups', [1, 4])
@pytest.mark.parametrize('hybrid', [False, True])
def test_spatial_attention_matches_equations(groups, hybrid):
    layer = SpatialAttention(16, groups)
    layer.initialize(mx.init.Normal(0.3))
    _randomise_bn_stats(layer)
    if hybrid:
        layer.hybridize()
    u = np.random.randn(2, 16, 6, 5).astype('float32')
    out = layer(mx.nd.array(u)).asnumpy()
    assert out.shape == u.shape
    np.testing.assert_allclose(out, reference.spatial(u, layer), rtol=1e-4, atol=1e-5)
    assert layer.conv.weight.shape == (groups, 2, 7, 7)


def test_spatial_attention_goes_first():
    attn = create_attn('ini_square3_spa4', 64, width=64, map_cols=16)
    u, x, out = _run(attn, 64)
    spatial = reference.spatial(u, attn.spatial)
    np.testing.assert_allclose(out, reference.inner_imaging(spatial, x, attn), rtol=1e-4,
                               atol=1e-5)
    with pytest.raises(ValueError, match='divisible'):
        create_attn('se_spa3', 64)


def test_a_spec_builds_and_plans_its_layer():
    """``spec.layer`` / ``spec.plan``: the factory of timm's ``attn_layer``, and its plan."""
    from ini_gluon.layers import parse_attn
    spec = parse_attn('ini_square3')
    assert spec.plan(64).map_shape == (8, 16)                 # alt: 2C/16 x 16
    assert spec.layer(64, 16).plan == spec.plan(64)
    assert spec.layer(64, 16).describe()['num_filters'] == 1   # eps = width // 16
    with pytest.raises(ValueError, match='no G-filter of the set'):
        parse_attn('ini_square1').plan(16)                    # 3x3 on the 2 x 16 map
    assert parse_attn('se').plan(64) is None
    with pytest.raises(ValueError, match='no identity flow'):
        parse_attn('cmpe_se_3x3').plan(64, identity=False)
