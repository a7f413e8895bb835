"""get_model's GluonCV keywords (pretrained, pretrained_base, ctx, root: GluonCV's weights from
GluonCV's cache, never downloaded, checked both ways), GluonCV's names (aliases, the models not
built here), the suggestions for a near-miss name, and ``python -m ini_gluon --list``."""
import os
import re

import mxnet as mx
import numpy as np
import pytest
from gluoncv.model_zoo import get_model as gluoncv_model
from gluoncv.model_zoo.model_store import short_hash
from gluoncv.model_zoo.model_zoo import _models as GLUONCV_MODELS

import ini_gluon as ig
from ini_gluon.__main__ import main as info
from ini_gluon.models import families, listing, parse_model_name
from ini_gluon.models.weights import attention_param_names

X = mx.nd.random.uniform(shape=(2, 3, 64, 64))       # ResNets take any size; 64 is cheap


def _file_name(name):
    return '%s-%s.params' % (name, short_hash(name))


@pytest.fixture(scope='module')
def gluoncv_resnet18(tmp_path_factory):
    """GluonCV's resnet18_v1, initialised, saved under GluonCV's file name in a fresh root."""
    root = tmp_path_factory.mktemp('gluoncv-models')
    mx.random.seed(3)
    net = gluoncv_model('resnet18_v1')
    net.initialize(mx.init.Xavier())
    net(X)
    net.save_parameters(str(root / _file_name('resnet18_v1')))
    saved = {k: v.asnumpy() for k, v in mx.nd.load(str(root / _file_name('resnet18_v1'))).items()}
    return str(root), net, saved


def _params(net):
    return net._collect_params_with_prefix()


def _message(call):
    with pytest.raises(ValueError) as err:
        call()
    return str(err.value)


# ---- pretrained, ctx, root
@pytest.mark.parametrize('name, instead', [
    ('ini_resnet18_v1_mix5d', "pretrained_base=True loads GluonCV's ImageNet resnet18_v1"),
    ('se_resnet18_v1', "pretrained_base=True loads GluonCV's ImageNet resnet18_v1"),
    ('ini_resnet20_mix5d', 'train it'),
    ('resnet20', 'train it'),
])
def test_pretrained_true_is_one_clear_error(name, instead, tmp_path):
    message = _message(lambda: ig.get_model(name, pretrained=True, root=str(tmp_path)))
    assert 'pretrained=True: no weights are published for %s' % name in message
    assert instead in message
    assert "load a run's parameters: net.load_parameters('<save-dir>/%s-best.params')" % name \
        in message
    assert os.listdir(str(tmp_path)) == []                  # nothing downloaded, nothing made


def test_keywords_are_accepted_and_do_not_reach_the_constructor(monkeypatch):
    seen = []
    entry = families.backbones()['cifar_preact_resnet']

    def spy(**kwargs):
        seen.append(sorted(kwargs))
        return entry.build(**kwargs)
    monkeypatch.setitem(families._BACKBONES, entry.key, entry._replace(build=spy))
    net = ig.get_model('ini_resnet20_mix5d', pretrained=False, ctx=mx.cpu(0),
                       root='~/no-such-folder', pretrained_base=False, classes=10)
    assert seen == [['attn', 'classes', 'depth']]
    # nothing loaded: uninitialised, as GluonCV's models
    assert all(p._data is None for p in net.collect_params().values())
    assert 'ctx must be an mx.Context' in _message(lambda: ig.get_model('resnet20', ctx='cpu'))
    assert 'pretrained_base must be True or False' in _message(
        lambda: ig.get_model('resnet20', pretrained_base='yes'))


def test_root_is_expanded_and_defaults_to_gluoncvs(monkeypatch, tmp_path):
    expected = os.path.join(os.path.expanduser('~/no-such-folder'), _file_name('resnet18_v1'))
    message = _message(lambda: ig.get_model('ini_resnet18_v1_mix5d', pretrained_base=True,
                                            root='~/no-such-folder'))
    assert 'expected the file %s' % expected in message
    monkeypatch.setenv('MXNET_HOME', str(tmp_path))
    message = _message(lambda: ig.get_model('resnet18_v1', pretrained=True))
    assert os.path.join(str(tmp_path), 'models', _file_name('resnet18_v1')) in message


def test_pretrained_base_absent_file_names_it(tmp_path):
    message = _message(lambda: ig.get_model('ini_resnet18_v1_mix5d', pretrained_base=True,
                                            root=str(tmp_path)))
    assert str(tmp_path / _file_name('resnet18_v1')) in message
    assert "gluoncv.model_zoo.get_model('resnet18_v1', pretrained=True, root=" in message
    assert os.listdir(str(tmp_path)) == []


def test_the_readmes_weight_file_is_the_one_looked_for(tmp_path):
    """GluonCV's model store names resnet50_v2's weights resnet50_v2-ecdde353.params."""
    message = _message(lambda: ig.get_model('resnet50_v2', pretrained=True,
                                            root=str(tmp_path)))
    assert str(tmp_path / 'resnet50_v2-ecdde353.params') in message
    with open(os.path.join(os.path.dirname(__file__), '..', 'README.md')) as f:
        named = set(re.findall(r'resnet50_v2-[0-9a-f]{8}\.params', f.read()))
    assert named == {'resnet50_v2-ecdde353.params'}


def test_pretrained_base_for_a_cifar_backbone_is_refused(tmp_path):
    message = _message(lambda: ig.get_model('ini_wrn16_4_mix5d', pretrained_base=True,
                                            root=str(tmp_path)))
    assert 'GluonCV has no ImageNet weights for the CIFAR backbone wrn16_4' in message


def test_pretrained_base_loads_every_backbone_parameter(gluoncv_resnet18):
    root, _, saved = gluoncv_resnet18
    ctx = mx.cpu(0)
    net = ig.get_model('ini_resnet18_v1_mix5d', pretrained_base=True, root=root, classes=10,
                       ctx=ctx)
    params = _params(net)
    attention = attention_param_names(net)
    assert attention and all('.attn.' in k for k in attention)
    backbone = set(params) - attention
    new_output = {k for k in saved if k.startswith('output.')}
    assert backbone == set(saved)                       # the same structural names
    for k in backbone - new_output:
        assert np.array_equal(params[k].data().asnumpy(), saved[k]), k
    # the rest is initialised on ctx: attention (BatchNorm's own ones), a 10-class classifier
    assert all(p._data is not None and p.list_ctx() == [ctx] for p in params.values())
    assert params['output.weight'].shape == (10, 512)
    gammas = [k for k in attention if k.endswith('bn.gamma')]
    assert gammas and all((params[k].data().asnumpy() == 1).all() for k in gammas)
    assert net(X).shape == (2, 10)
    # 1000 classes: the classifier is GluonCV's too
    net = ig.get_model('ini_resnet18_v1_mix5d', pretrained_base=True, root=root)
    assert np.array_equal(_params(net)['output.weight'].data().asnumpy(),
                          saved['output.weight'])


def test_pretrained_base_of_gluoncvs_se_resnet(gluoncv_resnet18):
    root, _, saved = gluoncv_resnet18
    net = ig.get_model('se_resnet18_v1', pretrained_base=True, root=root, classes=10)
    assert type(net).__module__.startswith('gluoncv.')
    params = _params(net)
    assert {k for k in attention_param_names(net)} == set(params) - set(saved)
    assert all('.se.' in k for k in attention_param_names(net))
    assert np.array_equal(params['features.0.weight'].data().asnumpy(),
                          saved['features.0.weight'])


def test_pretrained_plain_resnet_is_gluoncvs_own(gluoncv_resnet18):
    root, reference, _ = gluoncv_resnet18
    net = ig.get_model('resnet18_v1', pretrained=True, root=root)
    assert np.allclose(net(X).asnumpy(), reference(X).asnumpy(), atol=1e-5)
    assert len(net.classes) == 1000                       # GluonCV's ImageNet attributes
    message = _message(lambda: ig.get_model('resnet18_v1', pretrained=True, root=root,
                                            classes=10))
    assert "keeps GluonCV's classifier of 1000 classes, not 10" in message


def _tampered(root, tmp_path, change):
    loaded = mx.nd.load(os.path.join(root, _file_name('resnet18_v1')))
    change(loaded)
    mx.nd.save(str(tmp_path / _file_name('resnet18_v1')), loaded)
    return _message(lambda: ig.get_model('ini_resnet18_v1_mix5d', pretrained_base=True,
                                         root=str(tmp_path)))


def test_a_file_that_does_not_fit_is_refused_whole(gluoncv_resnet18, tmp_path):
    root, _, _ = gluoncv_resnet18
    message = _tampered(root, tmp_path, lambda d: d.pop('features.4.0.body.1.gamma'))
    assert 'does not fit ini_resnet18_v1_mix5d (nothing loaded)' in message
    assert "1 of the model's backbone parameters are not in it (features.4.0.body.1.gamma)" \
        in message
    message = _tampered(root, tmp_path, lambda d: d.update(
        {'features.9.weight': mx.nd.zeros((3,))}))
    assert '1 of its parameters have no place in the model (features.9.weight)' in message
    message = _tampered(root, tmp_path, lambda d: d.update(
        {'features.0.weight': mx.nd.zeros((64, 3, 3, 3))}))
    assert 'features.0.weight is (64, 3, 3, 3) float32 there' in message


def test_mxnets_older_file_format_is_read(gluoncv_resnet18, tmp_path):
    root, reference, saved = gluoncv_resnet18
    reference.collect_params().save(str(tmp_path / _file_name('resnet18_v1')),
                                    strip_prefix=reference.prefix)     # 'conv0_weight', ...
    assert not any('.' in k for k in mx.nd.load(str(tmp_path / _file_name('resnet18_v1'))))
    net = ig.get_model('ini_resnet18_v1_mix5d', pretrained_base=True, root=str(tmp_path),
                       classes=10)
    assert np.array_equal(_params(net)['features.5.1.body.0.weight'].data().asnumpy(),
                          saved['features.5.1.body.0.weight'])


# ---- GluonCV's names
@pytest.mark.parametrize('alias, canonical', [
    ('cifar_resnet20_v2', 'resnet20'), ('cifar_resnet110_v2', 'resnet110'),
    ('cifar_wideresnet16_10', 'wrn16_10'), ('cifar_wideresnet40_8', 'wrn40_8'),
    ('ini_cifar_wideresnet28_10_mix5d', 'ini_wrn28_10_mix5d'),
    ('se_cifar_resnet56_v2_spa', 'se_resnet56_spa'), ('allcnn_c', 'allcnn'),
])
def test_gluoncv_aliases_resolve_to_the_same_spec(alias, canonical):
    assert parse_model_name(alias) == parse_model_name(canonical)
    assert parse_model_name(alias).name == canonical


def test_every_gluoncv_cifar_name_resolves_or_says_it_is_not_built():
    for name in sorted(n for n in GLUONCV_MODELS if n.startswith('cifar_')):
        if name.startswith(('cifar_resnet', 'cifar_wideresnet')) and name.endswith(
                ('_v2', '_10', '_8')):
            assert parse_model_name(name).attn is None
            continue
        assert 'not built here' in _message(lambda: ig.get_model(name)), name


def _suggestions(name):
    message = _message(lambda: ig.get_model(name))
    assert message.startswith('unknown model name %r' % name)
    return message, message.split('closest valid names: ')[1].split(', ')


def test_gluoncv_post_activation_cifar_resnet_suggests_the_pre_activation_one():
    message, near = _suggestions('cifar_resnet56_v1')
    assert "GluonCV's cifar_resnet56_v1 is the post-activation CIFAR ResNet, not built here; " \
        'the pre-activation one is resnet56 (cifar_resnet56_v2)' in message
    assert near[0] == 'resnet56'
    assert not any(n.endswith(('_v1', '_v2')) for n in near)         # no ImageNet ResNet
    assert _suggestions('ini_cifar_resnet110_v1_mix5d')[1][0] == 'ini_resnet110_mix5d'


@pytest.mark.parametrize('name, first, also', [
    ('resnet56_v1', 'resnet56', 'resnet50_v1'),      # the depth first: 56 is a CIFAR depth
    ('resnet18', 'resnet18_v1', 'resnet18_v2'),      # 18 is an ImageNet depth
    ('resnet50_v3', 'resnet50_v2', 'resnet50'),      # the depth is kept in its own family
    ('resnet50_v1b', 'resnet50_v1', 'resnet50_v1'),  # GluonCV's ResNetV1b
    ('ini_resnet8_mix6', 'ini_resnet8_mix5', 'ini_resnet8_mix4'),   # resnet8 is not listed
])
def test_near_misses_keep_family_and_depth(name, first, also):
    message, near = _suggestions(name)
    assert near[0] == first and also in near
    for suggestion in near:
        assert listing.canonical(suggestion) == suggestion    # each one builds


# ---- python -m ini_gluon --list
def test_list_prints_every_attention_of_a_spelled_depth(capsys):
    assert 'ini_resnet8_mix5d' not in ig.list_models()            # the catalogue stays
    info(['--list', 'ini_resnet8*'])
    out, err = capsys.readouterr()
    names = out.split()
    assert 'ini_resnet8_mix5d' in names and 'ini_resnet8_square1' not in names   # 3x3 on 2x16
    assert all(n.startswith('ini_resnet8_') for n in names)
    assert 'resnet<depth> (also cifar_resnet<depth>_v2): pre-act CIFAR ResNet, depth 6n+2' in err
    assert 'e.g. ini_resnet8_mix5d' in err


def test_list_says_how_names_of_an_unbounded_family_are_formed(capsys):
    info(['--list', 'wrn*_3'])
    out, err = capsys.readouterr()
    assert out == ''
    assert err.startswith('wrn<depth>_<width> (also cifar_wideresnet<depth>_<width>): ')
    assert 'depth 6n+4' in err
    info(['--list', 'resnet1*'])                         # every ImageNet depth, listed or not
    out, err = capsys.readouterr()
    assert {'resnet110', 'resnet164', 'resnet18_v1', 'resnet152_v2'} <= set(out.split())
    assert 'resnet<depth>' in err and 'resnet<depth>_v<version>' not in err   # finite: listed
    with pytest.raises(SystemExit) as code:
        info(['--list', 'densenet*'])
    assert code.value.code == 2
    assert 'no registered model matches' in capsys.readouterr().err
