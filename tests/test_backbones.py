"""The backbones written here (All-CNN-C, PyramidNet) and the CBAM baseline: structure and
parameter counts worked out by hand from their papers, what the attention sees, the per-block
map shapes of PyramidNet's growing widths."""
import mxnet as mx
import numpy as np
import pytest

import ini_gluon as ig
from ini_gluon.layers import CBAM
from ini_gluon.models.pyramidnet import PyramidBottleneck, pyramid_widths
from ini_gluon.analysis.summary import residual_blocks

# All-CNN-C (Springenberg et al., Table 2): (in, out, kernel) of its nine convolutions
ALLCNN = [(3, 96, 3), (96, 96, 3), (96, 96, 3), (96, 192, 3), (192, 192, 3), (192, 192, 3),
          (192, 192, 3), (192, 192, 1), (192, 10, 1)]
ALLCNN_ORIGINAL = sum(i * o * k * k + o for i, o, k in ALLCNN)   # weights + biases, no BN
ALLCNN_PLAIN = ALLCNN_ORIGINAL + sum(4 * o for _, o, _ in ALLCNN)  # + BatchNorm per conv


def count(name, **kwargs):
    return ig.count_params(ig.get_model(name, **kwargs))


def test_allcnn_counts_by_hand():
    assert ALLCNN_ORIGINAL == 1369738
    assert count('allcnn', batch_norm=False) == ALLCNN_ORIGINAL
    assert count('allcnn') == ALLCNN_PLAIN
    widths = [o for _, o, _ in ALLCNN[:-1]]                     # attention after these eight
    assert count('se_allcnn') == ALLCNN_PLAIN + sum(2 * c * (c // 16) for c in widths)

    def square1(c):
        # fold 8 x C/8 (Section V-B), one 3x3 G-filter -> 6 x (C/8 - 2) group signals;
        # eps = C // 16 filters with BatchNorm (4 numbers each); encoder C^g -> C/16 -> C
        eps, c_g = c // 16, 6 * (c // 8 - 2)
        return eps * 9 + 4 * eps + c_g * (c // 16) + (c // 16) * c
    assert count('ini_allcnn_square1') == ALLCNN_PLAIN + sum(square1(c) for c in widths)
    assert count('allcnn', classes=100) == ALLCNN_PLAIN + 90 * 192 + 90 + 90 * 4


def test_allcnn_structure_and_fold_map():
    net = ig.get_model('ini_allcnn_square3')
    blocks = residual_blocks(net)
    assert [label for label, _ in blocks] == ['stage1.0', 'stage1.1', 'stage1.2', 'stage2.0',
                                              'stage2.1', 'stage2.2', 'stage3.0', 'stage3.1']
    maps = [(b.attn.describe()['layout'], b.attn.describe()['map_shape']) for _, b in blocks]
    assert maps == [('fold', (8, 12))] * 3 + [('fold', (8, 24))] * 5
    assert not any(b.attn.uses_identity for _, b in blocks)
    net.initialize()
    # 32 -> 16 -> 8 (stride-2 convolutions) -> 6 (the unpadded 3x3) -> global average
    assert net(mx.nd.zeros((2, 3, 32, 32))).shape == (2, 10)
    drop = [b for b in net.features._children.values() if isinstance(b, mx.gluon.nn.Dropout)]
    assert [d._rate for d in drop] == [0.2]                    # on the input
    assert ig.get_model('allcnn', drop_rate=0.3).features[1][3]._rate == 0.3


def test_allcnn_layer_output_is_the_rescaled_activation():
    net = ig.get_model('se_allcnn')
    net.initialize(mx.init.Xavier())
    layer = residual_blocks(net)[0][1]
    x = mx.nd.random.uniform(shape=(2, 3, 8, 8))
    u = mx.nd.relu(layer.bn(layer.conv(x)))
    s = layer.attn.encoder(u.mean(axis=(2, 3)))                 # SE on the activation alone
    np.testing.assert_allclose(layer(x).asnumpy(), (u * s.reshape((2, 96, 1, 1))).asnumpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('name, fragment', [
    ('cmpe_se_3x3_allcnn', 'no identity flow'), ('cmpe_se_doublefc_allcnn', 'no identity flow'),
    ('ini_allcnn_simple1', "only 'fold' applies"), ('ini_allcnn_square1_nojoint', '_nojoint')])
def test_allcnn_refuses_what_needs_an_identity(name, fragment):
    assert name not in ig.list_models()
    with pytest.raises(ValueError, match=fragment):
        ig.get_model(name)


def test_pyramid_widths_by_hand():
    widths = pyramid_widths(272, 200)
    assert [len(s) for s in widths] == [30, 30, 30]
    # 16 + k * 200/90, rounded: 18.2, 20.4, 22.7, 24.9, 27.1; the last 16 + 200
    assert widths[0][:5] == [18, 20, 23, 25, 27] and widths[2][-1] == 216
    assert pyramid_widths(11, 12) == [[20], [24], [28]]        # n = 1: +4 per block
    with pytest.raises(ValueError, match='9n\\+2'):
        ig.get_model('pyramidnet273')


def _bottleneck(cin, p):
    """BN(in) conv1x1 BN conv3x3 BN conv1x1(4p) BN, 4 numbers per BatchNorm channel."""
    return 4 * cin + cin * p + 4 * p + 9 * p * p + 4 * p + p * 4 * p + 4 * 4 * p


def test_pyramidnet_counts_by_hand():
    # stem 3x3 (16) + BN; blocks 16 -> 4*20, 80 -> 4*24, 96 -> 4*28; BN, classifier
    plain = (27 * 16 + 64 + _bottleneck(16, 20) + _bottleneck(80, 24) + _bottleneck(96, 28)
             + 4 * 112 + 112 * 10 + 10)
    assert count('pyramidnet11_a12') == plain
    se = sum(2 * c * (c // 16) for c in (80, 96, 112))
    assert count('se_pyramidnet11_a12') == plain + se
    cbam = sum(2 * c * (c // 16) + c // 16 + c + 102 for c in (80, 96, 112))
    assert count('cbam_pyramidnet11_a12') == plain + cbam
    assert parse_name('pyramidnet272_a200') == 'pyramidnet272'
    assert parse_name('se_pyramidnet110_a48') == 'se_pyramidnet110_a48'


def parse_name(name):
    return ig.models.parse_model_name(name).name


def test_pyramidnet_map_per_block_by_the_nearest_divisor():
    """Widths 16 does not divide get the divisor of C nearest 16: C = 76 -> 19 columns
    (divisors 4, 19: |19 - 16| < |4 - 16|), C = 88 -> 11 (divisors 11, 22: 5 < 6)."""
    net = ig.get_model('ini_pyramidnet20_a18_mix5d')
    blocks = dict(residual_blocks(net))
    assert [blocks['stage1.%d' % j].out_channels for j in (0, 1)] == [76, 88]
    assert blocks['stage1.0'].attn.describe()['map_shape'] == (8, 19)
    assert blocks['stage1.1'].attn.describe()['map_shape'] == (16, 11)
    rows = {line.split()[0]: line.split() for line in ig.summary(net).splitlines()[2:]
            if line.startswith('stage')}
    assert rows['stage1.0'][1:5] == ['76', 'ini_mix5d', 'alt', '8x19']
    assert rows['stage1.1'][1:5] == ['88', 'ini_mix5d', 'alt', '16x11']


def test_pyramidnet_padded_channels_have_a_zero_identity():
    net = ig.get_model('ini_pyramidnet11_a12_mix5d')
    net.initialize(mx.init.Xavier())
    block = residual_blocks(net)[1][1]                  # 80 -> 96 channels, stride 2
    assert isinstance(block, PyramidBottleneck) and block.out_channels == 96
    x = mx.nd.random.uniform(shape=(2, 80, 8, 8))
    u = block.body(x)
    pooled = mx.nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type='avg')
    identity = mx.nd.concat(pooled, mx.nd.zeros((2, 16, 4, 4)), dim=1)
    expected = block.attn(u, identity) + identity
    np.testing.assert_allclose(block(x).asnumpy(), expected.asnumpy(), rtol=1e-5, atol=1e-6)
    # the new channels carry s o U only
    scaled = block.attn(u, identity)
    np.testing.assert_allclose(block(x).asnumpy()[:, 80:], scaled.asnumpy()[:, 80:],
                               rtol=1e-5, atol=1e-6)


def test_cbam_is_channel_then_spatial_attention():
    """CBAM eq. 1-3 computed from the layer's weights by hand."""
    attn = CBAM(32)
    attn.initialize(mx.init.Normal(0.5))
    u = mx.nd.random.normal(shape=(2, 32, 5, 6))
    fc1, fc2 = attn.mlp[0], attn.mlp[1]

    def mlp(v):
        hidden = np.maximum(v @ fc1.weight.data().asnumpy().T + fc1.bias.data().asnumpy(), 0)
        return hidden @ fc2.weight.data().asnumpy().T + fc2.bias.data().asnumpy()
    un = u.asnumpy()
    s = 1 / (1 + np.exp(-(mlp(un.mean(axis=(2, 3))) + mlp(un.max(axis=(2, 3))))))   # eq. 2
    u1 = un * s[:, :, None, None]                                                     # eq. 1
    stats = mx.nd.array(np.stack([u1.mean(axis=1), u1.max(axis=1)], axis=1))
    spatial = attn.spatial_map
    xi = mx.nd.sigmoid(spatial.bn(spatial.conv(stats))).asnumpy()                   # eq. 3
    np.testing.assert_allclose(attn(u, u).asnumpy(), u1 * xi, rtol=1e-4, atol=1e-5)
    assert len(attn.mlp[0].weight.shape) == 2 and attn.mlp[0].bias is not None


def test_cbam_table_v_counts():
    """Table V: CBAM-ResNet-50 28.16M, CBAM-ResNet-101 49.48M (GluonCV's ResNet v1)."""
    for name, paper in (('cbam_resnet50_v1', 28.16e6), ('cbam_resnet101_v1', 49.48e6)):
        assert abs(count(name, classes=1000) - paper) / paper < 0.001


def _losses(net, steps=12, lr=0.1):
    """Training losses of ``net`` on 64 of scikit-learn's digits (upscaled to 16 x 16), SGD with
    the InI paper's All-CNN learning rate."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = np.kron(digits.images[:64] / 16.0, np.ones((2, 2)))[:, None].repeat(3, axis=1)
    x, y = mx.nd.array(images - 0.3), mx.nd.array(digits.target[:64])
    mx.random.seed(3)
    net.initialize(mx.init.Xavier())
    trainer = mx.gluon.Trainer(net.collect_params(), 'nag', {'learning_rate': lr,
                                                             'momentum': 0.9})
    loss_fn, losses = mx.gluon.loss.SoftmaxCrossEntropyLoss(), []
    for step in range(steps):
        batch = slice(step % 2 * 32, step % 2 * 32 + 32)
        with mx.autograd.record():
            loss = loss_fn(net(x[batch]), y[batch])
        loss.backward()
        trainer.step(32)
        losses.append(loss.mean().asscalar())
    return losses


def test_allcnn_with_batchnorm_trains_at_the_papers_rate():
    """Why All-CNN here has BatchNorm: in 12 steps at lr 0.1 SE-All-CNN's loss falls by more
    than 0.5 nats with it (measured: 2.36 -> 0.88), while the original All-CNN-C (no
    BatchNorm) stays at chance, ln 10 (measured: 2.303 -> 2.299)."""
    with_bn = _losses(ig.get_model('se_allcnn'))
    assert np.mean(with_bn[-4:]) < with_bn[0] - 0.5
    original = _losses(ig.get_model('se_allcnn', batch_norm=False))
    assert np.mean(original[-4:]) > np.log(10) - 0.02
