"""Adding an attention or a backbone is one file with one registration: a toy attention and a
toy backbone registered from this file alone build, list, count and train-configure like the
project's own; the README's two examples (ECA with its own option k, a tiny backbone) run as
written, and as files dropped into a copy of the package with nothing else changed."""
import os
import re
import shutil
import subprocess
import sys
import types

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

import ini_gluon as ig
from ini_gluon.layers import (AttnOption, AttnSpec, AttnType, BlockShape, ChannelAttention,
                              register_attention)
from ini_gluon.models import (AttentionResidual, SqueezeChain, families, parse_model_name,
                              register_backbone)
from ini_gluon.analysis.summary import residual_blocks
from ini_gluon.training import main as train_cifar
from ini_gluon.training.settings import paper_preset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the module itself: ini_gluon.layers.create_attn is the function the package re-exports
ATTN_REGISTRY = sys.modules['ini_gluon.layers.create_attn']


@pytest.fixture
def registries(monkeypatch):
    """Registrations made in a test vanish after it."""
    monkeypatch.setattr(ATTN_REGISTRY, '_TYPES', dict(ATTN_REGISTRY._TYPES))
    monkeypatch.setattr(families, '_BACKBONES', dict(families._BACKBONES))


# ---- a toy attention: one learned gate per channel, s = sigmoid(w), whatever the input
class Gate(ChannelAttention):
    def __init__(self, channels, **kwargs):
        super(Gate, self).__init__(**kwargs)
        with self.name_scope():
            self.w = self.params.get('w', shape=(1, channels), init=mx.init.Uniform(2))

    def hybrid_forward(self, F, u, x, x_hat=None, w=None):
        return F.broadcast_mul(u, F.reshape(F.sigmoid(w), shape=(1, -1, 1, 1)))

    def describe(self):
        return {'kind': 'gate'}


def _register_gate():
    register_attention(AttnType('gate', lambda spec, block, norm_layer, norm_kwargs:
                                Gate(block.channels)))


# ---- a toy backbone: stage 1 of two pre-activation blocks of width w, stage 2 one block of
# width 2w with a 1x1 projection shortcut
class ToyBlock(AttentionResidual, HybridBlock):
    preactivation = True

    def __init__(self, channels, in_channels, attn, **kwargs):
        super(ToyBlock, self).__init__(**kwargs)
        with self.name_scope():
            self.bn1 = nn.BatchNorm(in_channels=in_channels)
            self.conv = nn.Conv2D(channels, 3, padding=1, use_bias=False,
                                  in_channels=in_channels)
            self.downsample = (nn.Conv2D(channels, 1, use_bias=False, in_channels=in_channels)
                               if channels != in_channels else None)
        self._init_attention(attn, channels, channels, 16, nn.BatchNorm, None)

    def branches(self, F, x, x_hat):
        act, identity = self.preact(F, x)
        return self.conv(act), identity, None if self.downsample else x_hat


def _toy_blocks(width):
    if width < 8:
        raise ValueError('toy width must be >= 8, not %d' % width)
    return [BlockShape('stage1.0', width), BlockShape('stage1.1', width),
            BlockShape('stage2.0', 2 * width)]


def _register_toy():
    @register_backbone('toy{width}', blocks=_toy_blocks, family='wrn', listed=['toy16'])
    def toy(width, attn=None, classes=10):
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Conv2D(width, 3, padding=1, use_bias=False, in_channels=3))
            for i, (blocks, c) in enumerate([([(width, width), (width, width)], width),
                                             ([(2 * width, width)], 2 * width)]):
                stage = SqueezeChain(prefix='stage%d_' % (i + 1))
                with stage.name_scope():
                    stage.add(*[ToyBlock(out, cin, attn) for out, cin in blocks])
                net.add(stage)
            net.add(nn.GlobalAvgPool2D(), nn.Dense(classes, in_units=2 * width))
        return net
    return toy


def _assert_hybrid_is_imperative(net, size):
    net.initialize()
    x = mx.nd.random.uniform(shape=(2, 3, size, size))
    eager = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-5, atol=1e-6)


def _toy_plain_count(w, classes=10):
    """Stem, two w -> w blocks (BN + 3x3), one w -> 2w block (BN + 3x3 + 1x1 projection),
    the classifier; BatchNorm: 4 numbers per channel."""
    return (27 * w + 2 * (4 * w + 9 * w * w) + 4 * w + 9 * w * 2 * w + w * 2 * w
            + 2 * w * classes + classes)


def test_a_toy_attention_registers_from_this_file(registries):
    _register_gate()
    assert 'gate_resnet20' in ig.list_models() and 'gate_wrn28_10' in ig.list_models()
    spec = parse_model_name('gate_resnet20')
    assert spec.attn == AttnSpec('gate') and spec.name == 'gate_resnet20'
    # one weight per channel and block: 3 x 16 + 3 x 32 + 3 x 64
    assert ig.count_params(ig.get_model('gate_resnet20')) == \
        ig.count_params(ig.get_model('resnet20')) + 336
    with pytest.raises(ValueError, match='gate takes no reduction'):
        ig.get_model('gate_resnet20', reduction=8)
    _assert_hybrid_is_imperative(ig.get_model('gate_wrn10_2'), 32)


def test_a_toy_backbone_registers_from_this_file(registries):
    _register_toy()
    names = ig.list_models('*toy16*')
    assert {'toy16', 'se_toy16', 'cbam_toy16', 'cmpe_se_1x1_toy16', 'ini_toy16_mix5d'} <= \
        set(names)
    # a 3x3 G-filter cannot scan the 2 x 16 map of C = 16
    assert 'ini_toy16_square1' not in names and 'cmpe_se_3x3_toy16' not in names
    for name in names:
        assert parse_model_name(name).name == name
    w = 16
    assert ig.count_params(ig.get_model('toy16')) == _toy_plain_count(w)
    # SE: 2 C^2 / 16 per block
    assert ig.count_params(ig.get_model('se_toy16')) == \
        _toy_plain_count(w) + 2 * (2 * w * w // 16) + 2 * (2 * w) ** 2 // 16
    # another depth (width) than the listed one, checked by the registered blocks
    assert ig.get_model('toy24').model_spec.kwargs == {'width': 24}
    with pytest.raises(ValueError, match='toy width must be >= 8'):
        ig.get_model('toy4')
    # the family it registered chooses the recipe: WRN's fixed decay epochs
    assert paper_preset('se_toy16', 'cifar10')['lr_decay_epoch'][0] == [60, 120, 160]


def test_the_toy_backbone_hands_the_squeeze_on_within_a_stage(registries):
    _register_toy()
    net = ig.get_model('cmpe_se_doublefc_toy32')
    stages = [net[i] for i in range(len(net)) if isinstance(net[i], SqueezeChain)]
    assert [stage.hand_on for stage in stages] == [(True, False), (False,)]
    assert [s.hand_on for s in (ig.get_model('se_toy32')[i] for i in (1, 2))] == \
        [(False, False), (False,)]                 # SE squeezes no identity
    _assert_hybrid_is_imperative(net, 8)


def _readme_block(path):
    """The Python code block of the README that follows 'Saved as `path`'."""
    with open(os.path.join(ROOT, 'README.md')) as f:
        text = f.read()
    match = re.search(r'Saved as `%s`:\s*```python\n(.*?)```' % re.escape(path), text, re.S)
    assert match, 'README has no example saved as %s' % path
    return match.group(1)


def _run_as_module(source, name):
    module = types.ModuleType(name)
    exec(compile(source, name, 'exec'), module.__dict__)
    return module


def _kernels(net):
    """The kernel sizes of a net's ECA layers (their convolutions' weights)."""
    return {b.attn.conv.weight.shape[-1] for _, b in residual_blocks(net)}


def test_the_readme_attention_example_runs(registries, capsys):
    _run_as_module(_readme_block('ini_gluon/layers/eca.py'), 'eca')
    names = ig.list_models('eca_*')
    assert {'eca_wrn28_10', 'eca_wrn28_10_k5', 'eca_resnet20', 'eca_resnet20_k5'} <= set(names)
    for name in names:                                   # the listing and the parser agree
        assert parse_model_name(name).name == name
        assert parse_model_name(name).attn.k in (None, 5)
    # k adaptive, the odd number nearest (log2 C + 1) / 2: C = 16, 32, 64 -> 3
    assert _kernels(ig.get_model('eca_resnet20')) == {3}
    assert ig.count_params(ig.get_model('eca_resnet20')) == \
        ig.count_params(ig.get_model('resnet20')) + 9 * 3
    # k given by the name, or by the keyword, which the name then spells
    net = ig.get_model('eca_wrn28_10_k5')
    assert _kernels(net) == {5} and net.model_spec.attn.k == 5
    assert parse_model_name('eca_wrn28_10').attn == AttnSpec('eca', k=None)
    for name, kwargs, canonical, k in [('eca_resnet20', {'k': 5}, 'eca_resnet20_k5', 5),
                                       ('eca_wrn28_10_k5', {'k': 3}, 'eca_wrn28_10_k3', 3),
                                       ('eca_resnet20_k5', {'k': None}, 'eca_resnet20', 3)]:
        net = ig.get_model(name, **kwargs)
        assert net.model_name == canonical and _kernels(net) == {k}
        assert parse_model_name(canonical) == net.model_spec
    for call in (lambda: ig.get_model('eca_resnet20', k=4),
                 lambda: parse_model_name('eca_resnet20_k4')):
        with pytest.raises(ValueError, match='positive odd integer, not 4'):
            call()
    with pytest.raises(ValueError, match='se takes no k'):
        ig.get_model('se_resnet20', k=5)
    net = ig.get_model('eca_resnet20_k5')
    net.initialize()
    net.hybridize()
    assert net(mx.nd.zeros((1, 3, 32, 32))).shape == (1, 10)
    # the training script resolves it
    assert train_cifar(['--model', 'eca_wrn16_4_k5', '--dry-run']) == 0
    assert 'eca_wrn16_4_k5' in capsys.readouterr().out


def test_the_readme_backbone_example_runs(registries):
    _run_as_module(_readme_block('ini_gluon/models/tinynet.py'), 'tinynet')
    assert {'tinynet32', 'ini_tinynet32_mix5d', 'cbam_tinynet32'} <= set(ig.list_models())
    net = ig.get_model('ini_tinynet32_mix5d')
    net.initialize()
    assert net(mx.nd.zeros((1, 3, 8, 8))).shape == (1, 10)


def test_every_module_of_the_packages_is_imported():
    """What makes one file enough: the packages import every module they hold."""
    for package in ('layers', 'models'):
        folder = os.path.join(ROOT, 'ini_gluon', package)
        for filename in os.listdir(folder):
            if filename.endswith('.py') and filename != '__init__.py':
                assert 'ini_gluon.%s.%s' % (package, filename[:-3]) in sys.modules, filename


def test_the_readme_examples_as_files_in_a_copy_of_the_package(tmp_path):
    """Drop the two files into a copy of the package, change nothing else: the models exist."""
    shutil.copytree(os.path.join(ROOT, 'ini_gluon'), str(tmp_path / 'ini_gluon'),
                    ignore=shutil.ignore_patterns('__pycache__'))
    for path in ('ini_gluon/layers/eca.py', 'ini_gluon/models/tinynet.py'):
        (tmp_path / path).write_text(_readme_block(path))
    code = ("import ini_gluon as ig; assert ig.__file__.startswith(%r); "
            "print(ig.count_params(ig.get_model('eca_tinynet32')), "
            "len(ig.list_models('eca_*')) > 10)" % str(tmp_path))
    out = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert out.returncode == 0, out.stderr[-2000:]
    # tinynet32: stem 3x3 (864 + 32 bias), two blocks of BN (128) + 3x3 (9,216), Dense 330;
    # ECA with C = 32: k = 3, in each of the two blocks
    assert out.stdout.split() == [str(896 + 2 * (128 + 9216) + 330 + 2 * 3), 'True']


def test_a_listed_variant_is_a_name(registries):
    """An option a name does not spell (no suffix) may be given by keyword, but not listed."""
    quiet = AttnOption('quiet', 0, None, None, 'an option without a word')
    with pytest.raises(ValueError, match="a listed variant sets quiet, which no name spells"):
        register_attention(AttnType('hush', lambda *args: Gate(1), options=(quiet,),
                                    variants=({}, {'quiet': 1})))
    assert 'hush' not in ig.layers.attention_types()
    register_attention(AttnType('hush', lambda spec, block, *args: Gate(block.channels),
                                options=(quiet,)))
    net = ig.get_model('hush_resnet20', quiet=1)
    assert net.model_spec.attn.quiet == 1 and net.model_name == 'hush_resnet20'
