"""The registry: every listed name parses and fits its backbone; one model of each backbone
family with each kind of attention has the parameter count worked out by hand; names parse into
arguments; bad names and impossible configurations raise one clear ValueError; attention specs
hold the options their types declare, and a name spells every one: ``net.model_name`` is the
canonical name of the spec a net was built from, whatever keywords it was given; the paper whose
recipe a model follows; the blocks every backbone registers are those of the network it builds."""
import copy
import pickle
import sys

import pytest
from gluoncv.model_zoo import get_model as gluoncv_model
from gluoncv.model_zoo.cifarresnet import CIFARResNetV2, get_cifar_resnet
from gluoncv.model_zoo.cifarwideresnet import get_cifar_wide_resnet
from gluoncv.model_zoo.resnet import BottleneckV2

import ini_gluon as ig
from ini_gluon.layers import AttnSpec, attention_types, create_attn, parse_attn
from ini_gluon.models import backbone_models, families, model_paper, parse_model_name
from ini_gluon.models.residual import check_blocks
from ini_gluon.analysis.summary import residual_blocks

ALL = ig.list_models()


def _model_name(backbone, attn):
    """The name of ``backbone`` (a backbone name) with the attention named ``attn``."""
    return parse_model_name(backbone)._replace(attn=parse_attn(attn or None)).name


def test_listing_covers_the_papers_names():
    for name in ['wrn28_10', 'se_wrn28_10', 'cmpe_se_doublefc_wrn28_10', 'cmpe_se_3x3_resnet164',
                 'ini_wrn28_10_mix5d', 'ini_resnet164_square3d', 'ini_resnet164_square1_nojoint',
                 'ini_wrn16_8_simple3', 'ini_wrn22_10_mix5d_concat', 'resnet110']:
        assert name in ALL
    assert 'ini_resnet20_square1' not in ALL          # 3x3 cannot fit the 2x16 map of C = 16
    assert ig.list_models('se_wrn*') == ['se_wrn16_4', 'se_wrn16_8', 'se_wrn22_10',
                                         'se_wrn28_10', 'se_wrn40_4']


def test_every_listed_name_parses_fits_its_backbone_and_round_trips():
    assert len(ALL) > 1000
    for name in ALL:
        spec = parse_model_name(name)
        check_blocks(spec.attn, spec.blocks())          # raises where it cannot build
        assert spec.name == name                        # name -> spec -> name
        assert parse_model_name(spec.name) == spec      # spec -> name -> spec
        assert hash(spec) == hash(parse_model_name(name))


# ---- one model per (backbone family x attention kind), counted by hand
# Each family: our name, GluonCV's own plain model, and its residual blocks as (C, width,
# count): C the block's output channels, width its (bottleneck) width, which sets
# epsilon = width / 16 G-filters per shape; and the columns M of the inner-imaged map
# (InI paper Section V-B: M = 16, n = 2C / 16 rows; WRN: M = C / 10, 20 rows).
FAMILIES = {
    'resnet20': (lambda: get_cifar_resnet(2, 20, classes=10),
                 [(16, 16, 3), (32, 32, 3), (64, 64, 3)], lambda c: 16),
    # pre-act bottlenecks: GluonCV's CIFAR net with its BottleneckV2 (its get_cifar_resnet
    # builds basic blocks only)
    'resnet29': (lambda: CIFARResNetV2(BottleneckV2, [3] * 3, [16, 64, 128, 256], classes=10),
                 [(64, 16, 3), (128, 32, 3), (256, 64, 3)], lambda c: 16),
    'wrn10_10': (lambda: get_cifar_wide_resnet(10, 10, classes=10),
                 [(160, 160, 1), (320, 320, 1), (640, 640, 1)], lambda c: c // 10),
    'resnet18_v2': (lambda: gluoncv_model('resnet18_v2', classes=10),
                    [(64, 64, 2), (128, 128, 2), (256, 256, 2), (512, 512, 2)], lambda c: 16),
    'resnet50_v1': (lambda: gluoncv_model('resnet50_v1', classes=10),
                    [(256, 64, 3), (512, 128, 4), (1024, 256, 6), (2048, 512, 3)],
                    lambda c: 16),
}
# Table I's G-filters as (rows, cols, dilation); the dilated one is 3x3 with dilation 2
MIX5D = [(1, 1, 1), (1, 5, 1), (3, 3, 1), (5, 1, 1), (5, 5, 1), (3, 3, 2)]
SQUARE3 = [(1, 1, 1), (3, 3, 1), (5, 5, 1)]
# attention kind: (map layout, G-filters, aggregation, spatial maps); layouts (InI eq. 4,
# eq. 19, eq. 24): 'fold' C / M x M, 'stack' 2 x C, 'alt' 2C / M x M
KINDS = {
    'se': None, 'cmpe_se_doublefc': None, 'cbam': None,
    'cmpe_se_1x1': ('stack', [(1, 1, 1)], 'sum', 0),
    'cmpe_se_2x1': ('stack', [(2, 1, 1)], 'sum', 0),
    'cmpe_se_3x3': ('alt', [(3, 3, 1)], 'sum', 0),
    'ini_mix5d': ('alt', MIX5D, 'sum', 0),
    'ini_square3_nojoint': ('fold', SQUARE3, 'sum', 0),
    'ini_mix5d_concat': ('alt', MIX5D, 'concat', 0),
    'ini_simple1': ('stack', [(2, 1, 1)], 'sum', 0),
    'ini_mix5d_spa4': ('alt', MIX5D, 'sum', 4),
}


def _by_hand(kind, c, width, cols):
    """Parameters one attention layer adds to a block of output width ``c``."""
    r = c // 16                                                   # encoder bottleneck, t = 16
    if kind == 'se':
        return 2 * c * r                                          # C -> C/16 -> C, no biases
    if kind == 'cmpe_se_doublefc':
        return c * r + c * r + 2 * r * c                          # w1_r, w1_id, w2 (eq. 7-9)
    if kind == 'cbam':
        return 2 * c * r + r + c + 7 * 7 * 2 + 4                  # MLP with biases, 7x7 map
    layout, g_filters, aggregation, spatial = KINDS[kind]
    rows, cols = {'fold': (c // cols, cols), 'stack': (2, c), 'alt': (2 * c // cols, cols)}[layout]
    eps = width // 16
    outputs = [(rows - (a - 1) * d, cols - (b - 1) * d) for a, b, d in g_filters]
    kept = [(g, out) for g, out in zip(g_filters, outputs) if min(out) >= 1]
    if not kept:
        return None                                               # no G-filter fits the map
    g_params = sum(eps * a * b + 4 * eps for (a, b, d), _ in kept)   # weights + BatchNorm
    n_max = max(n for _, (n, m) in kept)
    c_g = n_max * (max(m for _, (n, m) in kept) if aggregation == 'sum'
                   else sum(m for _, (n, m) in kept))
    return g_params + c_g * r + r * c + spatial * (7 * 7 * 2 + 4)  # CBAM's map + BatchNorm


@pytest.mark.parametrize('kind', [''] + list(KINDS))
@pytest.mark.parametrize('family', list(FAMILIES))
def test_one_model_of_each_family_and_attention_counts_by_hand(family, kind):
    gluoncv, blocks, cols = FAMILIES[family]
    name = _model_name(family, kind)
    added = [_by_hand(kind, c, width, cols(c)) if kind else 0 for c, width, _ in blocks]
    if None in added:           # a block where no G-filter fits: the name is refused
        assert name not in ALL
        with pytest.raises(ValueError, match='cannot build'):
            ig.get_model(name)
        return
    net = ig.get_model(name, classes=10)
    assert net.model_name == name
    expected = ig.count_params(gluoncv()) + sum(n * a for (_, _, n), a in zip(blocks, added))
    assert ig.count_params(net) == expected


def test_names_parse_into_specs():
    spec = parse_model_name('ini_wrn40_4_square3_nojoint_concat')
    assert (spec.backbone, spec.kwargs) == ('cifar_wrn', {'depth': 40, 'width': 4})
    assert spec.attn == AttnSpec('ini', 'square3', joint=False, aggregation='concat')
    assert spec.family == 'wrn'
    spec = parse_model_name('cmpe_se_2x1_resnet1001')
    assert (spec.kwargs, spec.attn) == ({'depth': 1001}, AttnSpec('cmpe_se_2x1'))
    assert parse_model_name('resnet56').attn is None
    assert parse_model_name('cifar_resnet56_v2').name == 'resnet56'      # alias -> canonical


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
    # a backbone name ending in _<word> is not read as a G-filter set
    ('ini_pyramidnet272_a200', 'needs a G-filter set', 'ini_pyramidnet272_mix'),
    ('ini_resnet50_v1', 'needs a G-filter set', 'ini_resnet50_v1_mix'),
    ('cbam_resnet20_spa', 'cbam takes no spatial', 'cbam_resnet20'),
    ('resnet20_spa0', 'unknown backbone', 'resnet20'),
    ('resnet20\n', 'unknown backbone', 'resnet20'),
    ('pyramidnet90000002', 'expected an integer from 0 to 10000', 'pyramidnet272'),
])
def test_bad_names(name, fragment, suggestion):
    with pytest.raises(ValueError) as err:
        ig.get_model(name)
    message = str(err.value)
    assert message.startswith('unknown model name %r' % name)
    assert fragment in message
    assert suggestion in message.split('closest valid names:')[1]


@pytest.mark.parametrize('name, kwargs, fragments', [
    ('ini_resnet20_square1', {}, ['stage1.0 (C=16)', 'alt map 2x16', '{3x3}']),
    ('ini_wrn28_10_mix5d', {'map_cols': 7}, ['with map_cols=7', 'stage1.0 (C=160)',
                                             'divisors near it: 5, 8']),
    ('ini_wrn28_10_mix5d', {'g_filters': [(0, 3)]}, ['malformed G-filter (0, 3)']),
    ('ini_wrn28_10_mix5d', {'layout': 'fold'}, ['needs joint=False']),
    ('ini_resnet164_mix5d', {'aggregation': 'max'}, ["aggregation 'max'"]),
    ('wrn28_10', {'map_cols': 8}, ['plain backbone takes no attention options']),
    ('ini_resnet164_horizon2', {'map_cols': 256}, ['stage1.0 (C=64)', 'map_cols=256']),
    ('cmpe_se_3x3_wrn28_10', {'g_filters': 'mix5d'}, ['cmpe_se_3x3 takes no g_filters']),
    ('se_resnet164', {'map_cols': 8}, ['se takes no map_cols']),
    # what the name says is not overridden by a keyword
    ('pyramidnet11_a12', {'depth': 20}, ['depth belongs in the name (pyramidnet11_a12)']),
    ('wrn16_2', {'width': 4}, ['width belongs in the name']),
    ('ini_resnet20_mix5d', {'spatial': True}, ['must be an integer >= 0, not True']),
    ('ini_resnet20_mix5d', {'joint': 'no'}, ['joint must be True or False']),
    ('allcnn', {'foo': 1}, ['allcnn takes no keyword foo']),
    ('pyramidnet11_a12', {'drop_rate': 0.3}, ['pyramidnet takes no keyword drop_rate']),
])
def test_impossible_configurations(name, kwargs, fragments):
    with pytest.raises(ValueError) as err:
        ig.get_model(name, **kwargs)
    message = str(err.value)
    assert message.startswith('cannot build %r' % name)
    for fragment in fragments:
        assert fragment in message


def test_specs_are_normalised_and_hashable():
    from ini_gluon.models import ModelSpec
    net = ig.get_model('ini_allcnn_square3', g_filters=[(3, 3)])
    assert net.model_spec.attn.g_filters == ((3, 3, 1),) and hash(net.model_spec)
    assert ig.get_model('ini_resnet20_mix5d', g_filters='MIX-5-d').model_spec == \
        parse_model_name('ini_resnet20_mix5d')
    # a hand-made spec gets its backbone's defaults and sorted fields
    spec = ig.get_model(ModelSpec('pyramidnet', (('depth', 20),), None)).model_spec
    assert spec == parse_model_name('pyramidnet20') and spec.kwargs == {'depth': 20,
                                                                       'alpha': 200}
    for bad, fragment in [((('foo', 1),), "no field 'foo'"), ((('depth', '20'),), 'integer')]:
        with pytest.raises(ValueError, match=fragment):
            ig.get_model(ModelSpec('pyramidnet', bad, None))
    # the alias of the original code's SE baseline keeps its spatial maps
    assert parse_model_name('cmpe_se_resnet164_spa').name == 'se_resnet164_spa'


def test_map_cols_override_makes_room():
    net = ig.get_model('ini_resnet20_square1', map_cols=8)
    shapes = [b.attn.describe()['map_shape'] for _, b in residual_blocks(net)]
    assert shapes[0] == (4, 8) and shapes[-1] == (16, 8)


def test_non_string_name():
    with pytest.raises(ValueError, match='model name must be a string'):
        ig.get_model(None)


def test_imagenet_names_and_gluoncv_baselines():
    from gluoncv.model_zoo import get_model as gluoncv_model
    spec = parse_model_name('ini_resnet50_v2_mix5d_spa4')
    assert (spec.kwargs, spec.attn) == ({'depth': 50, 'version': 2},
                                        AttnSpec('ini', 'mix5d', spatial=4))
    assert parse_model_name('se_wrn28_10_spa').attn == AttnSpec('se', spatial=1)
    # the spec decides, not the spelling: t = 16 given explicitly is GluonCV's SE too
    assert type(ig.get_model('se_resnet18_v2', reduction=16)).__module__.startswith('gluoncv.')
    assert type(ig.get_model('se_resnet18_v2', reduction=8)).__module__.startswith('ini_gluon.')
    for name in ('se_resnet50_v2', 'resnet50_v1'):
        ours = ig.get_model(name)
        assert type(ours).__module__.startswith('gluoncv.')
        assert ig.count_params(ours) == ig.count_params(gluoncv_model(name))
        assert ours.input_shape == (1, 3, 224, 224)
    with pytest.raises(ValueError, match='spatial attention .* goes with a channel attention'):
        ig.get_model('resnet50_v2_spa')
    with pytest.raises(ValueError, match="ImageNet ResNet depth must be one of GluonCV's"):
        ig.get_model('ini_resnet42_v2_mix5d')


# ---- attention options: each type declares its own; a name spells every value
def test_a_spec_holds_every_option_its_type_declares():
    spec = AttnSpec('ini', 'square3', joint=False)          # positional: the declared order
    assert (spec.g_filters, spec.joint, spec.reduction, spec.spatial) == ('square3', False, 16, 0)
    assert spec == parse_attn('ini_square3_nojoint') and hash(spec) == hash(parse_attn(
        'ini_square3_nojoint'))
    assert AttnSpec('ini', g_filters='MIX-5-d') == AttnSpec('ini')        # canonical values
    assert AttnSpec('ini', g_filters=[(3, 3), (5, 5, 2)]).g_filters == ((3, 3, 1), (5, 5, 2))
    assert AttnSpec('se').kwargs == {'reduction': 16, 'spatial': 0}
    assert [o.name for o in AttnSpec('cmpe_se_3x3').type.options] == ['reduction', 'map_cols',
                                                                      'spatial']
    assert spec._replace(reduction=8) == AttnSpec('ini', 'square3', joint=False, reduction=8)
    assert pickle.loads(pickle.dumps(spec)) == spec and copy.deepcopy(spec) == spec
    with pytest.raises(AttributeError, match="se takes no option 'g_filters'"):
        AttnSpec('se').g_filters
    with pytest.raises(AttributeError):
        spec.reduction = 8                                                # immutable
    for bad, fragment in [(dict(kind='cbam', spatial=1), 'cbam takes no spatial'),
                          (dict(kind='se', k=5), 'se takes no k: k is an option of no'),
                          (dict(kind='ini', reduction=0), 'must be a positive integer'),
                          (dict(kind='ini', g_filters={'a': 1}), 'malformed G-filter'),
                          (dict(kind='eca'), "unknown attention kind 'eca'")]:
        with pytest.raises(ValueError, match=fragment):
            AttnSpec(**bad)


@pytest.mark.parametrize('name, options', [
    ('ini_wrn16_4_mix5d_t8', {'reduction': 8}),
    ('ini_wrn16_4_mix5d_m8', {'map_cols': 8}),
    ('ini_wrn16_4_mix5d_stack', {'layout': 'stack'}),
    ('ini_wrn16_4_mix5d_nojoint_fold', {'joint': False, 'layout': 'fold'}),
    ('ini_resnet20_3x3_m8', {'g_filters': ((3, 3, 1),), 'map_cols': 8}),
    ('ini_wrn16_4_1x1-3x3-3x3d2_concat', {'g_filters': ((1, 1, 1), (3, 3, 1), (3, 3, 2)),
                                          'aggregation': 'concat'}),
    ('ini_wrn16_4_square1_nojoint_concat_fold_t4_m8_spa2',
     {'g_filters': 'square1', 'joint': False, 'aggregation': 'concat', 'layout': 'fold',
      'reduction': 4, 'map_cols': 8, 'spatial': 2}),
    ('se_resnet20_t8_spa', {'reduction': 8, 'spatial': 1}),
    ('cbam_resnet20_t4', {'reduction': 4}),
    ('cmpe_se_3x3_wrn16_4_t8_m8', {'reduction': 8, 'map_cols': 8}),
    ('cmpe_se_doublefc_resnet56_t4_spa4', {'reduction': 4, 'spatial': 4}),
])
def test_the_words_after_the_backbone_spell_every_option(name, options):
    spec = parse_model_name(name)
    assert spec.attn.kwargs == dict(AttnSpec(spec.attn.kind).kwargs, **options)
    assert spec.name == name and parse_model_name(spec.name) == spec
    check_blocks(spec.attn, spec.blocks())


@pytest.mark.parametrize('name, fragment', [
    ('ini_wrn16_4_mix5d_t8_nojoint', 'the words of ini go in the order _<G-filter set>, '
                                     '_nojoint'),
    ('se_resnet20_m8', 'se takes no map_cols'),
    ('ini_wrn16_4_nojoint', 'needs a G-filter set'),
    ('ini_wrn16_4_mix5d_t0', "unknown backbone 'wrn16_4_mix5d_t0'"),
    ('ini_wrn16_4_mix5d_t4_x', "unknown backbone 'wrn16_4_mix5d_t4_x'"),
    ('resnet20_t8', 'the reduction ratio (t8) goes with a channel attention: cbam_, '
                    'cmpe_se_1x1_'),
    ('ini_wrn16_4_0x3', "unknown G-filter set '0x3'"),
])
def test_option_words_out_of_place(name, fragment):
    with pytest.raises(ValueError) as err:
        parse_model_name(name)
    assert fragment in str(err.value)
    assert ('go in the order' in str(err.value)) == ('go in the order' in fragment)


# ---- net.model_name is the canonical name of the spec it was built from, whatever the keywords
# (name, attention keywords, the canonical name): every option of every registered kind is
# overridden at least once
OVERRIDES = [
    ('ini_wrn16_4_mix5d', {'g_filters': 'square1', 'joint': False},
     'ini_wrn16_4_square1_nojoint'),
    ('ini_resnet8_mix5d', {'g_filters': [(3, 3), (1, 1, 1), (3, 3, 2)]},
     'ini_resnet8_3x3-1x1-3x3d2'),
    ('ini_resnet8_mix5d', {'g_filters': 'MIX-3'}, 'ini_resnet8_mix3'),
    ('ini_resnet8_mix5d', {'aggregation': 'concat'}, 'ini_resnet8_mix5d_concat'),
    ('ini_resnet8_mix5d', {'layout': 'stack'}, 'ini_resnet8_mix5d_stack'),
    ('ini_resnet8_mix5d', {'layout': 'alt'}, 'ini_resnet8_mix5d_alt'),
    ('ini_resnet8_mix5d', {'layout': 'fold', 'joint': False}, 'ini_resnet8_mix5d_nojoint_fold'),
    ('ini_resnet8_mix5d', {'reduction': 8}, 'ini_resnet8_mix5d_t8'),
    ('ini_resnet8_mix5d_t8', {'reduction': 16}, 'ini_resnet8_mix5d'),
    ('ini_resnet8_mix5d', {'map_cols': 8}, 'ini_resnet8_mix5d_m8'),
    ('ini_resnet8_mix5d_spa', {'spatial': 4}, 'ini_resnet8_mix5d_spa4'),
    ('ini_resnet8_mix5d_spa', {'spatial': 0}, 'ini_resnet8_mix5d'),
    ('se_resnet8', {'reduction': 4, 'spatial': 2}, 'se_resnet8_t4_spa2'),
    ('cbam_resnet8', {'reduction': 8}, 'cbam_resnet8_t8'),
    ('cmpe_se_doublefc_resnet8', {'reduction': 8, 'spatial': 1},
     'cmpe_se_doublefc_resnet8_t8_spa'),
    ('cmpe_se_1x1_resnet8', {'reduction': 4, 'map_cols': 8, 'spatial': 2},
     'cmpe_se_1x1_resnet8_t4_m8_spa2'),
    ('cmpe_se_2x1_resnet8', {'map_cols': 4, 'reduction': 8, 'spatial': 1},
     'cmpe_se_2x1_resnet8_t8_m4_spa'),
    ('cmpe_se_3x3_resnet8', {'map_cols': 8, 'reduction': 2, 'spatial': 4},
     'cmpe_se_3x3_resnet8_t2_m8_spa4'),
    # aliases resolve, with keywords or without
    ('cmpe_se_resnet8', {'reduction': 8}, 'se_resnet8_t8'),
    ('se_cifar_wideresnet10_2', {'spatial': 1}, 'se_wrn10_2_spa'),
    ('cifar_resnet8_v2', {}, 'resnet8'),
    ('ini_cifar_resnet8_v2_mix5d', {}, 'ini_resnet8_mix5d'),
]


def test_the_overrides_cover_every_option_of_every_kind():
    covered = {(parse_model_name(name).attn.kind, option)
               for name, options, _ in OVERRIDES for option in options}
    assert covered == {(kind, o.name) for kind, t in attention_types().items()
                       for o in t.options}


@pytest.mark.parametrize('name, options, canonical', OVERRIDES)
def test_model_name_is_the_name_of_the_spec_built(name, options, canonical):
    net = ig.get_model(name, **options)
    assert net.model_name == net.model_spec.name == canonical
    assert parse_model_name(canonical) == net.model_spec
    assert ig.count_params(net) == ig.count_params(ig.get_model(canonical))
    assert [_described(b) for _, b in residual_blocks(net)] == \
        [_described(b) for _, b in residual_blocks(ig.get_model(canonical))]


def _described(block):
    return None if block.attn is None else block.attn.describe()


# ---- the paper whose recipe a model follows: the backbone's, else the alias's, else the
# attention type's, else None (the InI paper)
@pytest.mark.parametrize('name, paper', [
    ('cmpe_se_resnet164', 'cmpe-se'),             # the CMPE-SE code's name of its SE baseline
    ('cmpe_se_resnet164_spa', 'cmpe-se'), ('CMPE_SE_WRN28_10', 'cmpe-se'),
    ('cmpe_se_3x3_wrn28_10', 'cmpe-se'), ('cmpe_se_doublefc_resnet50_v1', 'cmpe-se'),
    ('se_resnet164', None), ('ini_wrn28_10_mix5d', None), ('resnet110', None),
    ('cbam_resnet50_v1', None), ('cifar_resnet56_v2', None),
    ('sinet_1_0', 'sinet'), ('mobilenet1_0_g2', 'sinet'), ('se_cifar_resnet18_v1_g2_ex', 'sinet'),
])
def test_model_paper(name, paper):
    assert model_paper(name) == paper


def test_model_paper_order(monkeypatch):
    create_attn = sys.modules['ini_gluon.layers.create_attn']
    se = attention_types()['se']
    monkeypatch.setitem(create_attn._TYPES, 'se', se._replace(paper='sinet'))
    assert model_paper('se_resnet164') == 'sinet'                 # the attention type's
    assert model_paper('cmpe_se_resnet164') == 'cmpe-se'          # the alias's before it
    assert model_paper(parse_model_name('cmpe_se_resnet164')) == 'sinet'   # a spec: no alias
    entry = ig.models.backbones()['cifar_preact_resnet']
    monkeypatch.setitem(families._BACKBONES, entry.key, entry._replace(paper='ini'))
    assert model_paper('cmpe_se_resnet164') == 'ini'              # the backbone's before both
    assert model_paper('cmpe_se_3x3_resnet20') == 'ini'
    with pytest.raises(ValueError, match='unknown backbone'):
        model_paper('cmpe_se_resnet18_v1')      # the alias is the CIFAR ResNets' and WRNs'


# ---- every registered backbone's blocks() are the blocks of the network it builds: labels,
# C, width, map columns and identity, and the attention layer the registered shape gives
SMALL = {'pyramidnet': 'pyramidnet11_a12'}      # its one listed backbone has 90 blocks
# the block classes the smallest backbones leave out: bottlenecks, ImageNet v2, All-CNN's fold
MORE = ['ini_resnet29_mix5d', 'ini_resnet50_v1_mix5d', 'ini_resnet18_v2_mix5d',
        'ini_resnet50_v2_mix5d', 'cmpe_se_doublefc_pyramidnet20_a12', 'ini_allcnn_square3']


def _small_model(backbone):
    """A small backbone of the family with an attention its blocks take (InI where it fits: its
    layer depends on C, the width, the map columns and the identity), else plain."""
    text = SMALL.get(backbone.key) or min(
        backbone.listed + (backbone.every or ()),
        key=lambda t: (len(parse_model_name(t).blocks()), t))
    names = backbone_models(text)
    ranked = [n for n in names if n.startswith('ini_') and n.endswith('_mix5d')] + \
        [n for n in names if n.startswith('ini_')] + \
        [n for n in names if parse_model_name(n).attn is not None] + [text]
    return ranked[0]


def _param_shapes(layer):
    return sorted(tuple(p.shape) for p in layer.collect_params().values())


@pytest.mark.parametrize('key', sorted(ig.models.backbones()))
def test_registered_blocks_are_the_blocks_built(key):
    names = [_small_model(ig.models.backbones()[key])] + \
        [n for n in MORE if parse_model_name(n).backbone == key]
    for name in names:
        spec = parse_model_name(name)
        built, shapes = residual_blocks(ig.get_model(name)), spec.blocks()
        assert [label for label, _ in built] == [s.label for s in shapes], name
        if ig.models.backbones()[key].attentions == ():
            assert shapes == [], name                   # no attention slot: nothing to check
        for (label, block), shape in zip(built, shapes):
            assert block.block_shape._replace(label=label) == shape, (name, label)
            assert block.out_channels == shape.channels and block.map_cols == shape.map_cols
            registered = create_attn(spec.attn, shape.channels, shape.width, shape.map_cols,
                                     identity=shape.identity)
            assert (block.attn is None) == (registered is None)
            if block.attn is not None:
                assert block.attn.describe() == registered.describe(), (name, label)
                assert _param_shapes(block.attn) == _param_shapes(registered), (name, label)
