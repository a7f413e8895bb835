"""The registry: every listed name builds; names parse into arguments; bad names and impossible
configurations raise one clear ValueError."""
import pytest

import ini_gluon as ig
from ini_gluon.summary import residual_blocks
from ini_gluon.models import parse_model_name

ALL = ig.list_models()


def test_listing_covers_spec_names():
    for name in ['wrn28_10', 'se_wrn28_10', 'cmpe_se_doublefc_wrn28_10', 'cmpe_se_3x3_resnet164',
                 'ini_wrn28_10_mix5d', 'ini_resnet164_square3d', 'ini_resnet164_square1_nojoint',
                 'ini_wrn16_8_simple3', 'ini_wrn22_10_mix5d_concat', 'resnet110']:
        assert name in ALL
    assert 'ini_resnet20_square1' not in ALL          # 3x3 cannot fit the 2x16 map of C = 16
    assert ig.list_models('se_wrn*') == ['se_wrn16_4', 'se_wrn16_8', 'se_wrn22_10',
                                         'se_wrn28_10', 'se_wrn40_4']


@pytest.mark.parametrize('chunk', range(8))
def test_every_listed_model_builds(chunk):
    for name in ALL[chunk::8]:
        net = ig.get_model(name)
        assert net.model_name == name


def test_names_parse_into_arguments():
    backbone, args, attn = parse_model_name('ini_wrn40_4_square3_nojoint_concat')
    assert args == {'depth': 40, 'width': 4}
    assert attn == 'ini_square3_nojoint_concat'
    assert parse_model_name('cmpe_se_2x1_resnet1001')[1:] == ({'depth': 1001}, 'cmpe_se_2x1')
    assert parse_model_name('resnet56')[1:] == ({'depth': 56}, None)


def test_any_depth_builds():
    plain, ini = (ig.count_params(ig.get_model(n)) for n in ('wrn40_4', 'ini_wrn40_4_square3'))
    assert ini > plain
    assert ig.get_model('ini_resnet272_mix5d').model_name == 'ini_resnet272_mix5d'


@pytest.mark.parametrize('alias, canonical', [('cmpe_se_resnet164', 'se_resnet164'),
                                              ('cifar_wideresnet16_8', 'wrn16_8'),
                                              ('se_cifar_wideresnet28_10', 'se_wrn28_10'),
                                              ('cifar_resnet56_v2', 'resnet56')])
def test_aliases(alias, canonical):
    assert ig.count_params(ig.get_model(alias)) == ig.count_params(ig.get_model(canonical))


@pytest.mark.parametrize('name, fragment, suggestion', [
    ('ini_wrn28_10_mix6', "unknown G-filter set 'mix6'", 'ini_wrn28_10_mix5'),
    ('ini_wrn28_10', 'needs a G-filter set', 'ini_wrn28_10_mix5'),
    ('wrn27_10', 'WRN depth must be 6n+4', 'wrn28_10'),
    ('resnet21', 'depth must be 6n+2', 'resnet20'),
    ('se_wrn28_10_nojoint', 'unknown backbone', 'wrn28_10'),
    ('ini_wrn28_10_simple1_nojoint', "only 'fold' applies", 'ini_wrn28_10_simple1'),
    ('densenet121', 'unknown backbone', 'resnet'),
])
def test_bad_names(name, fragment, suggestion):
    with pytest.raises(ValueError) as err:
        ig.get_model(name)
    message = str(err.value)
    assert message.startswith('unknown model name %r' % name)
    assert fragment in message
    assert suggestion in message.split('closest valid names:')[1]


@pytest.mark.parametrize('name, kwargs, fragments', [
    ('ini_resnet20_square1', {}, ['stage1 (C=16)', 'alt map 2x16', '{3x3}']),
    ('ini_wrn28_10_mix5d', {'map_cols': 7}, ['with map_cols=7', 'stage1 (C=160)',
                                             'divisors near it: 5, 8']),
    ('ini_wrn28_10_mix5d', {'g_filters': [(0, 3)]}, ['malformed G-filter (0, 3)']),
    ('ini_wrn28_10_mix5d', {'layout': 'fold'}, ['needs joint=False']),
    ('ini_resnet164_mix5d', {'aggregation': 'max'}, ["aggregation 'max'"]),
    ('wrn28_10', {'map_cols': 8}, ['plain backbone takes no attention options']),
    ('ini_resnet164_horizon2', {'map_cols': 256}, ['stage1 (C=64)', 'map_cols=256']),
    ('cmpe_se_3x3_wrn28_10', {'g_filters': 'mix5d'}, ['cmpe_se_3x3 takes no g_filters']),
    ('se_resnet164', {'map_cols': 8}, ['se takes no map_cols']),
])
def test_impossible_configurations(name, kwargs, fragments):
    with pytest.raises(ValueError) as err:
        ig.get_model(name, **kwargs)
    message = str(err.value)
    assert message.startswith('cannot build %r' % name)
    for fragment in fragments:
        assert fragment in message


def test_map_cols_override_makes_room():
    net = ig.get_model('ini_resnet20_square1', map_cols=8)
    shapes = [b.attn.describe()['map_shape'] for _, b in residual_blocks(net)]
    assert shapes[0] == (4, 8) and shapes[-1] == (16, 8)


def test_non_string_name():
    with pytest.raises(ValueError, match='model name must be a string'):
        ig.get_model(None)


def test_imagenet_names_and_gluoncv_baselines():
    from gluoncv.model_zoo import get_model as gluoncv_model
    backbone, args, attn = parse_model_name('ini_resnet50_v2_mix5d_spa4')
    assert (args, attn) == ({'depth': 50, 'version': 2}, 'ini_mix5d_spa4')
    assert parse_model_name('se_wrn28_10_spa')[2] == 'se_spa'
    for name in ('se_resnet50_v2', 'resnet50_v1'):
        ours = ig.get_model(name)
        assert type(ours).__module__.startswith('gluoncv.')
        assert ig.count_params(ours) == ig.count_params(gluoncv_model(name))
        assert ours.input_shape == (1, 3, 224, 224)
    with pytest.raises(ValueError, match='spatial attention .* goes with a channel attention'):
        ig.get_model('resnet50_v2_spa')
    with pytest.raises(ValueError, match="ImageNet ResNet depth must be one of GluonCV's"):
        ig.get_model('ini_resnet42_v2_mix5d')
