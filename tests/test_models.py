"""Every model family at a small depth, with every kind of attention: hybridized output equals
imperative output, export -> SymbolBlock.imports round trip agrees, attention sits after the
last convolution of every block."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

import ini_gluon as ig
from ini_gluon.models import (CIFARPreActBlock, CIFARWideBlock, PreActBottleneck, ResNetV1Block,
                              ResNetV1Bottleneck, ResNetV2Block)
from ini_gluon.analysis.summary import residual_blocks

# (family at a small depth, attention variants that fit its maps)
FAMILIES = {
    'wrn10_2': ['', 'se_', 'cbam_', 'cmpe_se_doublefc_', 'cmpe_se_1x1_', 'cmpe_se_2x1_',
                'cmpe_se_3x3_', 'ini:mix5d', 'ini:mix5d_concat', 'ini:square3d_nojoint',
                'ini:simple3'],
    'resnet20': ['', 'se_', 'cmpe_se_doublefc_', 'cmpe_se_1x1_', 'cmpe_se_2x1_', 'ini:mix5d',
                 'ini:horizon3_concat', 'ini:square2_nojoint', 'ini:simple1'],
    'resnet29': ['', 'se_', 'cmpe_se_3x3_', 'ini:mix5d', 'ini:square3d', 'ini:simple3_concat',
                 'ini:vertical3_nojoint'],
    'allcnn': ['', 'se_', 'cbam_', 'ini:square1', 'ini:square3', 'ini:mix5d_concat'],
    # widths 76 ... 136: maps of 19, 11, ... columns (the nearest divisor of C to 16)
    'pyramidnet20_a18': ['', 'se_', 'cbam_', 'cmpe_se_doublefc_', 'cmpe_se_3x3_', 'ini:mix5d',
                         'ini:square3_nojoint', 'ini:simple1'],
}


def _name(backbone, variant):
    if variant.startswith('ini:'):
        return 'ini_%s_%s' % (backbone, variant[4:])
    return variant + backbone


CASES = [_name(b, v) for b, variants in FAMILIES.items() for v in variants]
CASES += ['ini_wrn10_2_mix5d_spa', 'ini_resnet20_mix5d_spa4']
# ImageNet ResNets at a small depth and input (GluonCV's own plain / SE baselines included)
IMAGENET = ['resnet18_v1', 'se_resnet18_v2', 'ini_resnet18_v1_mix5d', 'cmpe_se_3x3_resnet18_v2',
            'cbam_resnet18_v1', 'cbam_resnet18_v2',
            'ini_resnet50_v2_mix5d',
            'ini_resnet18_v2_square3d_spa', 'ini_resnet50_v2_mix5d_spa4',
            'ini_resnet50_v1_mix5d_spa']


def _built(name):
    net = ig.get_model(name, classes=10)
    net.initialize(mx.init.Xavier(magnitude=2))
    return net


@pytest.mark.parametrize('name', CASES + IMAGENET)
def test_hybridize_and_export_round_trip(name, tmp_path):
    net = _built(name)
    size = 64 if name in IMAGENET else 32
    x = mx.nd.random.uniform(-1, 1, shape=(2, 3, size, size))
    eager = net(x).asnumpy()
    train = 'resnet50' not in name      # in training mode too (its blocks: the ResNet-18s')
    if train:
        mx.random.seed(7)                              # the same dropout masks (All-CNN)
        with autograd.train_mode():
            eager_train = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-4, atol=1e-5)
    if train:
        mx.random.seed(7)
        with autograd.train_mode():
            np.testing.assert_allclose(net(x).asnumpy(), eager_train, rtol=1e-4, atol=1e-5)
    assert np.abs(eager[0] - eager[1]).max() > 0     # outputs depend on the input

    prefix = str(tmp_path / name)
    net.export(prefix)
    loaded = mx.gluon.SymbolBlock.imports(prefix + '-symbol.json', ['data'])
    loaded.load_parameters(prefix + '-0000.params')
    np.testing.assert_allclose(loaded(x).asnumpy(), eager, rtol=1e-4, atol=1e-5)


def _manual_residual(block, x):
    """U and X of a block, computed from its GluonCV layers by hand."""
    F = mx.nd
    if isinstance(block, (ResNetV1Block, ResNetV1Bottleneck)):
        return block.body(x), (block.downsample(x) if block.downsample else x)
    act = F.relu(block.bn1(x))
    if isinstance(block, PreActBottleneck):
        u = block.conv3(F.relu(block.bn3(block.conv2(F.relu(block.bn2(block.conv1(act)))))))
        identity = block.downsample(act) if block.downsample else x
    elif isinstance(block, (CIFARWideBlock, ResNetV2Block)):
        u = block.conv2(F.relu(block.bn2(block.conv1(act))))
        identity = block.downsample(act) if block.downsample else x
    else:
        u = block.conv2(F.relu(block.bn2(block.conv1(act))))
        identity = block.downsample(x) if block.downsample else x
    return u, identity


@pytest.mark.parametrize('name, n_blocks', [('ini_wrn10_2_mix5d', 3), ('se_resnet20', 9),
                                            ('ini_resnet29_square3d', 9),
                                            ('cmpe_se_doublefc_resnet29', 9),
                                            ('ini_resnet18_v2_mix5d_spa', 8),
                                            ('ini_resnet18_v1_mix5d', 8),
                                            ('ini_resnet50_v2_square3', 16)])
def test_attention_after_last_convolution(name, n_blocks):
    net = _built(name)
    blocks = residual_blocks(net)
    assert len(blocks) == n_blocks
    label, block = blocks[0]
    assert label == 'stage1.0'
    net(mx.nd.zeros((1, 3, 64, 64)))                  # resolve deferred shapes
    first_conv = block.body[0] if hasattr(block, 'body') else block.conv1
    x = mx.nd.random.uniform(shape=(2, first_conv.weight.shape[1], 8, 8))
    u, identity = _manual_residual(block, x)
    expected = block.attn(u, identity) + identity      # eq. 27
    if isinstance(block, (ResNetV1Block, ResNetV1Bottleneck)):
        expected = mx.nd.relu(expected)
    got = block(x)                                     # a tensor in, a tensor out
    np.testing.assert_allclose(got.asnumpy(), expected.asnumpy(), rtol=1e-4, atol=1e-5)
    if block.preactivation and block.attn.uses_identity:
        # what the stage asks of a block that hands on: (y, the squeeze of y)
        y, y_hat = block.chained(mx.nd, x, None, True)
        np.testing.assert_allclose(y.asnumpy(), expected.asnumpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(y_hat.asnumpy()[:, :, 0, 0],
                                   expected.asnumpy().mean(axis=(2, 3)), rtol=1e-4, atol=1e-5)
    assert np.abs((u + identity - expected).asnumpy()).max() > 1e-4   # attention does something


def test_resnet164_first_block_has_projection_shortcut():
    net = ig.get_model('cmpe_se_3x3_resnet164')
    blocks = dict(residual_blocks(net))
    first = blocks['stage1.0']
    assert isinstance(first, PreActBottleneck)
    assert first.downsample is not None          # 16 -> 64 channels: the original code crashed
    assert blocks['stage1.1'].downsample is None
    assert [blocks['stage%d.0' % i].attn.describe()['num_filters'] for i in (1, 2, 3)] == [1, 2, 4]
    assert [blocks['stage%d.0' % i].attn.describe()['map_shape'] for i in (1, 2, 3)] == \
        [(8, 16), (16, 16), (32, 16)]
    net.initialize()
    assert net(mx.nd.zeros((1, 3, 32, 32))).shape == (1, 10)


def test_plain_blocks_have_no_attention():
    net = ig.get_model('resnet20')
    assert all(block.attn is None for _, block in residual_blocks(net))
    assert all(isinstance(b, CIFARPreActBlock) for _, b in residual_blocks(net))


def test_classes_and_dropout_pass_through():
    net = ig.get_model('ini_wrn16_4_square3', classes=100, drop_rate=0.3)
    net.initialize()
    assert net(mx.nd.zeros((2, 3, 32, 32))).shape == (2, 100)
    assert all(b.droprate == 0.3 for _, b in residual_blocks(net))
