"""The inspection API (ini_gluon.inspect) and Grad-CAM (ini_gluon.gradcam) against values
computed apart from them: the NumPy references of the layers, the layer's own inputs and
outputs seen by a hook of the test, and heat maps worked out by hand."""
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import reference
from ini_gluon import get_model
from ini_gluon.analysis.gradcam import feature_layers, grad_cam
from ini_gluon.analysis.inspect import attention_layers, inspect


def _net(name, seed=3):
    mx.random.seed(seed)
    net = get_model(name)
    net.initialize(mx.init.Xavier())
    return net


def _batch(n=3, seed=4):
    return mx.nd.array(np.random.RandomState(seed).randn(n, 3, 32, 32).astype('float32'))


def _seen_by_hooks(net, data):
    """``{label: (u, x, output)}`` of every attention layer, from hooks of the test's own on an
    imperative forward pass."""
    seen, handles = {}, []
    for label, _, layer in attention_layers(net):
        def hook(block, args, out, label=label):
            out = out[0] if isinstance(out, (tuple, list)) else out
            seen[label] = (args[0].asnumpy(), args[1].asnumpy(), out.asnumpy())
        handles.append(layer.register_forward_hook(hook))
    net(data)
    for handle in handles:
        handle.detach()
    return seen


REFERENCE = {
    'ini_resnet8_mix5d': lambda u, x, attn: reference.inner_imaging(u, x, attn),
    'cmpe_se_1x1_resnet8': lambda u, x, attn: reference.inner_imaging(u, x, attn),
    'se_resnet8': lambda u, x, attn: reference.squeeze_excite(u, attn),
    'cmpe_se_doublefc_resnet8': lambda u, x, attn: reference.double_fc(u, x, attn),
    'ini_resnet8_mix5d_spa4': lambda u, x, attn: reference.inner_imaging(
        reference.spatial(u, attn.spatial), x, attn),
}


@pytest.mark.parametrize('name', sorted(REFERENCE))
def test_attention_values_are_what_the_forward_pass_computes(name):
    net, data = _net(name), _batch()
    seen = _seen_by_hooks(net, data)
    expected_logits = net(data).asnumpy()
    net.hybridize()
    net(data)
    found = inspect(net, data)
    assert np.allclose(found.logits, expected_logits, rtol=1e-5, atol=1e-6)
    assert [b.label for b in found.blocks] == ['stage1.0', 'stage2.0', 'stage3.0']
    layers = {label: layer for label, _, layer in attention_layers(net)}
    for block in found.blocks:
        u, x, out = seen[block.label]
        s = block.attention
        assert s.shape == (3, block.channels) and ((s > 0) & (s < 1)).all()
        if block.spatial_maps is not None:          # s rescales the spatially weighted U
            u = reference.spatial(u, layers[block.label].spatial)
        assert np.allclose(u * s[:, :, None, None], out, rtol=1e-4, atol=1e-6)
        assert np.allclose(REFERENCE[name](*seen[block.label][:2], layers[block.label]), out,
                           rtol=1e-4, atol=1e-5)
        assert np.allclose(block.squeezed, u.mean(axis=(2, 3)), rtol=1e-4, atol=1e-6)


def test_a_hybridized_model_is_hybridized_again_afterwards():
    net, data = _net('ini_resnet8_mix5d'), _batch()
    net.hybridize(static_alloc=True)
    before = net(data).asnumpy()
    inspect(net, data)
    assert net._active and ('static_alloc', True) in net._flags
    assert np.array_equal(net(data).asnumpy(), before)
    assert net._cached_op is not None            # the call ran the graph again


def test_the_alternating_map_holds_residual_rows_first_then_the_identity_rows():
    net, data = _net('ini_resnet8_mix5d'), _batch()
    seen = _seen_by_hooks(net, data)
    block = inspect(net, data, blocks=['stage2.0']).blocks[0]
    u, x, _ = seen['stage2.0']
    u_hat, x_hat = u.mean(axis=(2, 3)), x.mean(axis=(2, 3))
    assert (block.layout, block.map_shape, block.channels) == ('alt', (4, 16), 32)
    m, r, s = block.inner_imaged_map, block.rescaled_map, block.attention
    for row, (signal, first) in enumerate([(u_hat, 0), (x_hat, 0), (u_hat, 16), (x_hat, 16)]):
        assert np.allclose(m[:, row], signal[:, first:first + 16], rtol=1e-4, atol=1e-6)
        scaled = s[:, first:first + 16] if signal is u_hat else 1
        assert np.allclose(r[:, row], scaled * signal[:, first:first + 16], rtol=1e-4,
                           atol=1e-6)


def test_the_stacked_map_and_the_fold():
    net, data = _net('cmpe_se_1x1_resnet8'), _batch()
    seen = _seen_by_hooks(net, data)
    block = inspect(net, data, blocks=['stage3.0']).blocks[0]
    u, x, _ = seen['stage3.0']
    assert (block.layout, block.map_shape) == ('stack', (2, 64))
    assert np.allclose(block.inner_imaged_map[:, 0], u.mean(axis=(2, 3)), rtol=1e-4, atol=1e-6)
    assert np.allclose(block.inner_imaged_map[:, 1], x.mean(axis=(2, 3)), rtol=1e-4, atol=1e-6)
    # SE has no map: the fold over 16 columns, channel r * 16 + k in row r, column k
    block = inspect(_net('se_resnet8'), data, blocks=['stage3.0']).blocks[0]
    assert (block.layout, block.map_shape, block.grouping_maps) == ('fold', (4, 16), ())
    assert np.array_equal(block.inner_imaged_map[:, 2, 5], block.squeezed[:, 2 * 16 + 5])


def test_each_kept_g_filter_has_its_grouping_map():
    net, data = _net('ini_resnet8_mix5d'), _batch()
    seen = _seen_by_hooks(net, data)
    block = inspect(net, data, blocks=['stage2.0']).blocks[0]
    attn = dict((label, layer) for label, _, layer in attention_layers(net))['stage2.0']
    u, x, _ = seen['stage2.0']
    v = reference.layout_map(u.mean(axis=(2, 3)), x.mean(axis=(2, 3)), 'alt', 4, 16)
    assert [g for g, _ in block.grouping_maps] == ['1x1', '1x5', '3x3']
    for (g, found), bank, (g_filter, shape) in zip(block.grouping_maps, attn.g_filters,
                                                   attn.plan.kept):
        y = reference.bn_inference(reference.valid_conv(v, bank.conv.weight.data().asnumpy(),
                                                        g_filter.dilation), bank.bn)
        assert found.shape == (3,) + shape
        assert np.allclose(found, y.mean(axis=1), rtol=1e-4, atol=1e-5)


def test_gluoncvs_own_se_blocks_are_inspected():
    net = _net('se_resnet18_v2')
    data = _batch(2)
    found = inspect(net, data, blocks=['stage4.1'])
    block = found.blocks[0]
    assert (block.kind, block.channels, block.map_shape) == ('se', 512, (32, 16))
    assert np.allclose(block.rescaled_map.reshape(2, -1), block.squeezed * block.attention)


def test_an_unknown_block_is_named_with_the_blocks_there_are():
    with pytest.raises(ValueError, match='no attention block stage9.0 .* stage1.0, stage2.0'):
        inspect(_net('se_resnet8'), _batch(1), blocks=['stage9.0'])


class _Toy(nn.HybridBlock):
    """features: a 1x1 convolution copying input channels 0 and 1, ReLU; output: global average
    and the identity matrix, so that class k's score is the mean of channel k."""

    def __init__(self):
        super(_Toy, self).__init__(prefix='toy_')
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            with self.features.name_scope():
                self.features.add(nn.Conv2D(2, 1, in_channels=3, use_bias=False),
                                  nn.Activation('relu'))
            self.output = nn.HybridSequential(prefix='')
            with self.output.name_scope():
                self.output.add(nn.GlobalAvgPool2D(), nn.Flatten(),
                                nn.Dense(2, in_units=2, use_bias=False))

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def test_grad_cam_highlights_the_half_that_decides_the_class():
    net = _Toy()
    net.initialize()
    net.features[0].weight.set_data(mx.nd.array(np.eye(2, 3).reshape(2, 3, 1, 1)))
    net.output[2].weight.set_data(mx.nd.array(np.eye(2)))
    image = np.zeros((1, 3, 8, 8), 'float32')
    image[0, 0, :, :4] = 2.0           # channel 0 (class 0) on the left half only
    image[0, 1, :, 4:] = 1.0           # channel 1 (class 1), weaker, on the right half
    assert [name for name, _ in feature_layers(net)] == ['conv0', 'relu0']
    left = np.zeros((8, 8))
    left[:, :4] = 1
    # class 0: α = (1/64, 0), the map is channel 0 / its maximum: the left half exactly
    cam = grad_cam(net, image)
    assert cam.classes.tolist() == [0] and cam.layer == 'relu0'
    assert np.allclose(cam.heatmaps[0], left)
    assert np.allclose(grad_cam(net, image, classes=1).heatmaps[0], 1 - left)
    assert np.allclose(grad_cam(net, image, layer='conv0', classes=1).heatmaps[0], 1 - left)


def test_grad_cam_on_a_model_and_its_errors():
    net = _net('ini_resnet8_mix5d')
    net.hybridize()
    cam = grad_cam(net, _batch(2), layer='stage3', classes=[1, 2])
    assert cam.heatmaps.shape == (2, 32, 32) and cam.classes.tolist() == [1, 2]
    assert cam.heatmaps.max() == pytest.approx(1.0) and cam.heatmaps.min() >= 0
    with pytest.raises(ValueError, match="no layer 'stage9' .* stage3, batchnorm1, relu0"):
        grad_cam(net, _batch(1), layer='stage9')
    with pytest.raises(ValueError, match='class 10 is not one of the model.s 10 classes'):
        grad_cam(net, _batch(1), classes=10)


def test_the_readme_example_runs_and_its_comments_hold():
    import os
    import re
    with open(os.path.join(os.path.dirname(__file__), os.pardir, 'README.md')) as f:
        text = f.read()
    section = text[text.index('## Seeing what the attention does'):]
    code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    scope = {}
    exec(compile(code, 'README.md', 'exec'), scope)
    block = scope['block']
    assert (block.label, block.channels) == ('stage2.0', 32)
    assert block.inner_imaged_map.shape == (4, 4, 16)
    assert [(g, m.shape) for g, m in block.grouping_maps] == [
        ('1x1', (4, 4, 16)), ('1x5', (4, 4, 12)), ('3x3', (4, 2, 14))]
    assert block.attention.shape == (4, 32) and scope['cam'].heatmaps.shape == (4, 32, 32)


def test_grad_cam_is_the_same_under_autograd_and_leaves_the_gradients_alone():
    net = _net('ini_resnet8_mix5d')
    data = _batch(2)
    with mx.autograd.record():
        loss = net(data).sum()
    loss.backward()
    # a BatchNorm after stage2 normalises with the batch's statistics in training mode
    for _ in range(3):
        with mx.autograd.train_mode():
            net(data * 5 + 3)          # running statistics that differ from the batch's
    grads = {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()
             if p.grad_req != 'null'}
    outside = grad_cam(net, data, layer='stage2')
    with mx.autograd.record():
        inside = grad_cam(net, data, layer='stage2')
    with mx.autograd.train_mode():
        in_train_mode = grad_cam(net, data, layer='stage2')
    for cam in (inside, in_train_mode):
        assert np.array_equal(cam.classes, outside.classes)
        assert np.allclose(cam.heatmaps, outside.heatmaps, atol=1e-6)
    for k, p in net.collect_params().items():
        if k in grads:
            assert np.array_equal(p.grad().asnumpy(), grads[k]), k


def test_bad_batches_classes_and_layers_are_one_clear_error():
    net = _net('ini_resnet8_mix5d')
    found = inspect(net, _batch(2).astype('float64'), blocks='stage1.0')      # a float64 batch
    assert [b.label for b in found.blocks] == ['stage1.0']
    with pytest.raises(ValueError, match=r'expected a batch of images \(N, 3, H, W\)'):
        inspect(net, np.zeros((3, 32, 32)))
    for classes in ([1, 2, 3], 2.5, [[1, 2]]):
        with pytest.raises(ValueError, match='classes: expected one class number or one per'):
            grad_cam(net, _batch(2), classes=classes)
    for layer in ('pool0', 'flatten0'):
        with pytest.raises(ValueError, match="layer '%s' gives .* not a map" % layer):
            grad_cam(net, _batch(1), layer=layer)


def test_the_hybridize_backend_is_restored():
    # (not called again afterwards: MXNet 1.9 cannot build a graph twice for the MKLDNN
    # backend, whose first build fuses the BatchNorm into the convolution's parameters)
    net = _net('se_resnet8')
    net.hybridize(backend='MKLDNN', static_alloc=True)
    inspect(net, _batch(1))
    grad_cam(net, _batch(1))
    assert net._backend == 'MKLDNN' and net._active and ('static_alloc', True) in net._flags


@pytest.mark.parametrize('name', ['ini_resnet8_mix5d_spa4', 'cbam_resnet8'])
def test_gluons_apply_reaches_the_spatial_maps(name):
    """SpatialAttention's methods leave Gluon's Block.apply as it is (mxop and initialisers
    walk a network with it)."""
    from ini_gluon.layers import SpatialAttention
    seen = []
    _net(name).apply(lambda block: seen.append(type(block)))
    assert seen.count(SpatialAttention) == 3
