"""SINet and its ablation networks: eq. 1 on known inputs, the joint decision (eq. 2-4), the
funnel, parameter counts worked out by hand, GluonCV's networks as the G = 1 rows, Table 2 within
10 %, every name builds its graph, one SINet fits a batch of digits."""

import mxnet as mx
import numpy as np
import pytest
from gluoncv.model_zoo import get_model as gluoncv_model

import ini_gluon as ig
from ini_gluon import tables
from ini_gluon.layers.sinet import DenseFunnel, ExchangeShortcut, HierarchicalJointDecision
from ini_gluon.models.sinet import SIUnit
from ini_gluon.models.sinet_ablation import (GroupedBasicBlockV1, MOBILENET_DW, MOBILENET_OUT,
                                             SeparableUnit)
from ini_gluon.analysis.summary import count_params, summary

NEW = [n for n in ig.list_models() if n.startswith('sinet_') or '_g1' in n or '_g2' in n]


def _nd(a):
    return mx.nd.array(a, dtype='float64')


@pytest.mark.parametrize('groups, source', [
    (2, [2, 3, 0, 1]),                      # eq. 1: X^1 + shortcut X^2, X^2 + shortcut X^1
    (4, [2, 3, 4, 5, 6, 7, 0, 1])])         # group i takes group i + 1 (mod 4)
def test_exchange_shortcut_is_eq1(groups, source):
    rng = np.random.RandomState(0)
    x = rng.uniform(size=(2, len(source), 3, 2))
    h = rng.uniform(size=x.shape)
    expected = h + x[:, source]
    layer = ExchangeShortcut(groups)
    np.testing.assert_array_equal(layer(_nd(h), _nd(x)).asnumpy(), expected)
    layer.hybridize()
    np.testing.assert_array_equal(layer(_nd(h), _nd(x)).asnumpy(), expected)


def test_an_si_unit_keeps_groups_apart_exchanges_and_funnels():
    mx.random.seed(1)
    unit = SIUnit(16, 16, kernel=3, stride=1, expansion=4, groups=2)
    unit.initialize(mx.init.Xavier(magnitude=2))
    x = np.random.RandomState(2).uniform(-1, 1, (2, 16, 5, 5)).astype(np.float32)
    h = unit.body(mx.nd.array(x)).asnumpy()
    # H is grouped: changing group 2 of the input leaves group 1 of H(x) as it was (eq. 1's
    # H(X^1) depends on X^1 alone)
    x2 = x.copy()
    x2[:, 8:] += 1
    h2 = unit.body(mx.nd.array(x2)).asnumpy()
    np.testing.assert_allclose(h2[:, :8], h[:, :8], rtol=1e-5, atol=1e-6)
    assert np.abs(h2[:, 8:] - h[:, 8:]).max() > 1e-3
    # the funnel: group g of III is the grouped 1x1 convolution of [x^g, y^g], then BatchNorm
    y = h + x[:, list(range(8, 16)) + list(range(8))]
    w = unit.dense_funnel.conv.weight.data().asnumpy()[:, :, 0, 0]           # (16, 16)
    mixed = np.concatenate([np.einsum('oc,nchw->nohw', w[8 * g:8 * g + 8],
                                      np.concatenate([x[:, 8 * g:8 * g + 8],
                                                      y[:, 8 * g:8 * g + 8]], axis=1))
                            for g in range(2)], axis=1)
    bn = unit.dense_funnel.bn
    gamma, beta, mean, var = (p.data().asnumpy()[None, :, None, None] for p in
                              (bn.gamma, bn.beta, bn.running_mean, bn.running_var))
    expected = (mixed - mean) / np.sqrt(var + 1e-5) * gamma + beta
    np.testing.assert_allclose(unit(mx.nd.array(x)).asnumpy(), expected, rtol=1e-4, atol=1e-5)


def test_an_exchanging_unit_refuses_widths_its_groups_do_not_divide():
    with pytest.raises(ValueError, match='exchanges 4 groups needs widths that 4 divides'):
        SIUnit(6, 6, kernel=3, stride=1, expansion=4, groups=4)
    # a unit without shortcut may run ungrouped (SINet's Block 1: 21 channels in)
    assert SIUnit(21, 24, kernel=3, stride=2, expansion=1, groups=2).groups == 1


def test_a_down_sampling_unit_has_no_shortcut_and_no_funnel():
    unit = SIUnit(16, 24, kernel=5, stride=2, expansion=4, groups=2)
    unit.initialize()
    x = mx.nd.random.uniform(shape=(1, 16, 8, 8))
    assert not unit.exchange and not unit.funnel
    np.testing.assert_array_equal(unit(x).asnumpy(), unit.body(x).asnumpy())


def test_the_ablation_units_exchange_their_shortcut():
    x = np.random.RandomState(3).uniform(-1, 1, (2, 8, 4, 4)).astype(np.float32)
    swapped = x[:, [4, 5, 6, 7, 0, 1, 2, 3]]
    block = GroupedBasicBlockV1(8, 1, in_channels=8, groups=2, exchange_flag=True)
    block.initialize(mx.init.Xavier(magnitude=2))
    u = block.body(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(block(mx.nd.array(x)).asnumpy(), np.maximum(u + swapped, 0),
                               rtol=1e-5, atol=1e-6)
    unit = SeparableUnit(8, 8, 1, groups=2, exchange_flag=True)
    unit.initialize(mx.init.Xavier(magnitude=2))
    np.testing.assert_allclose(unit(mx.nd.array(x)).asnumpy(),
                               unit.body(mx.nd.array(x)).asnumpy() + swapped, rtol=1e-5)
    plain = SeparableUnit(8, 8, 1, groups=2)             # row B: no shortcut at all
    plain.initialize()
    assert not plain.shortcut


def test_the_joint_decision_weights_and_what_the_classifier_sees():
    net = ig.get_model('sinet_0_5', classes=7)
    net.initialize(mx.init.Xavier(magnitude=2))
    x = mx.nd.random.uniform(-1, 1, shape=(3, 3, 32, 32))
    outputs = net.block_outputs(x)
    widths = [o.shape[1] for o in outputs]
    assert len(outputs) == 5 and widths == list(net.decision.channels)
    assert net.output[0].weight.shape[1] == sum(widths)                   # 1^2 x 432w, rounded
    alphas = net.decision.weights(*outputs)
    for alpha, fc, out in zip(alphas, net.decision.attention, outputs):
        a = alpha.asnumpy()
        assert a.shape == (3, 1) and (a > 0).all() and (a < 1).all()
        # eq. 3: sigmoid((Z W_1) W_2), no activation between
        z = out.asnumpy().mean(axis=(2, 3))                                # eq. 2
        w1, w2 = (d.weight.data().asnumpy() for d in fc)
        np.testing.assert_allclose(a, 1 / (1 + np.exp(-(z @ w1.T @ w2.T))), rtol=1e-4)
    # eq. 4: the classifier sees [alpha_1 Z_1, ..., alpha_5 Z_5]
    joint = np.concatenate([a.asnumpy() * o.asnumpy().mean(axis=(2, 3))
                            for a, o in zip(alphas, outputs)], axis=1)
    np.testing.assert_allclose(net.decision(*outputs).asnumpy(), joint, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(net(x).asnumpy(), net.output(mx.nd.array(joint)).asnumpy(),
                               rtol=1e-4, atol=1e-5)


def test_the_joint_decision_takes_as_many_blocks_as_it_has():
    hjd = HierarchicalJointDecision([4, 8])
    hjd.initialize()
    with pytest.raises(ValueError, match='takes 2 block outputs, not 1'):
        hjd(mx.nd.zeros((1, 4, 2, 2)))


def test_one_si_unit_and_one_funnel_counted_by_hand():
    net = ig.get_model('sinet_1_0')
    shapes = ig.param_shapes(net)
    unit = net.features[5][1]                                  # Block 3's second unit: 80 -> 80
    # expansion 80 -> 320 and projection 320 -> 80 in 2 groups, 5x5 depthwise of 320, the funnel
    # 160 -> 80 in 2 groups; BatchNorm 4 per channel (running statistics included)
    weights = 80 * 320 // 2 + 320 * 25 + 320 * 80 // 2 + 160 * 80 // 2
    assert count_params(unit, shapes) == weights + 4 * (320 + 320 + 80 + 80)
    funnel = DenseFunnel(80, groups=2)
    funnel.initialize()
    funnel(mx.nd.zeros((1, 80, 2, 2)), mx.nd.zeros((1, 80, 2, 2)))
    assert funnel.conv.weight.shape == (80, 80, 1, 1)


@pytest.mark.parametrize('ours, theirs', [('mobilenet1_0_g1', 'mobilenet1.0'),
                                          ('mobilenetv2_1_0_g1', 'mobilenetv2_1.0'),
                                          ('resnet18_v1_g1', 'resnet18_v1')])
def test_row_a_is_gluoncvs_network(ours, theirs):
    """G = 1 without the decision: GluonCV's parameters, in GluonCV's order, give GluonCV's
    outputs."""
    net, reference = ig.get_model(ours, classes=5), gluoncv_model(theirs, classes=5)
    x = mx.nd.random.uniform(-1, 1, shape=(2, 3, 64, 64))
    for n in (net, reference):
        n.initialize()
        n(x)
    mine, others = list(net.collect_params().values()), list(reference.collect_params().values())
    assert [p.shape for p in mine] == [p.shape for p in others]
    rng = np.random.RandomState(4)
    for p, q in zip(mine, others):
        value = rng.uniform(0.5, 1.5, p.shape) if 'var' in p.name else \
            rng.normal(0, 0.1, p.shape)
        p.set_data(mx.nd.array(value))
        q.set_data(mx.nd.array(value))
    np.testing.assert_allclose(net(x).asnumpy(), reference(x).asnumpy(), rtol=1e-4, atol=1e-5)


def _halved_pointwise_mobilenet():
    # GluonCV's table: the pointwise convolution of unit i maps dw[i] -> out[i] channels
    return sum(d * c for d, c in zip(MOBILENET_DW, MOBILENET_OUT)) // 2


def _halved_resnet34():
    # both 3x3 convolutions of each basic block: 3, 4, 6, 3 blocks of 64, 128, 256, 512
    total, in_c = 0, 64
    for n, c in zip((3, 4, 6, 3), (64, 128, 256, 512)):
        for _ in range(n):
            total += 9 * (in_c * c + c * c)
            in_c = c
    return total // 2


def _decision_added(widths, classes=1000):
    # the classifier takes sum(widths) instead of the last width; W_1 (c x c/16), W_2 (c/16 x 1)
    return (sum(widths) - widths[-1]) * classes + sum(c * (c // 16) + c // 16 for c in widths)


@pytest.mark.parametrize('name, base, change', [
    ('mobilenet1_0_g2', 'mobilenet1_0_g1', -_halved_pointwise_mobilenet()),
    ('mobilenet1_0_g2_ex', 'mobilenet1_0_g2', 0),
    ('resnet34_v1_g2', 'resnet34_v1_g1', -_halved_resnet34()),
    ('resnet34_v1_g2_ex', 'resnet34_v1_g2', 0),
    ('mobilenet1_0_g1_hjd', 'mobilenet1_0_g1', _decision_added([64, 128, 256, 512, 1024])),
    ('resnet34_v1_g2_ex_hjd', 'resnet34_v1_g2_ex', _decision_added([64, 128, 256, 512])),
    ('mobilenetv2_1_0_g1_hjd', 'mobilenetv2_1_0_g1', _decision_added([16, 24, 32, 96, 1280])),
    ('se_resnet18_v1_g1', 'resnet18_v1_g1', 2 * 2 * (64 ** 2 + 128 ** 2 + 256 ** 2 + 512 ** 2)
     // 16)])
def test_parameter_changes_counted_by_hand(name, base, change):
    assert count_params(ig.get_model(name)) - count_params(ig.get_model(base)) == change


def test_row_a_counts_are_gluoncvs():
    assert count_params(ig.get_model('mobilenet1_0_g1')) == count_params(
        gluoncv_model('mobilenet1.0'), input_shape=(1, 3, 224, 224))


def test_table2_rows_within_ten_percent():
    rows = tables.sinet_rows()
    assert [r[0] for r in rows] == ['sinet_1_0', 'sinet_1_2', 'sinet_1_6', 'sinet_1_8']
    for name, params, flops, paper_params, paper_flops, trainable in rows:
        assert abs(params / paper_params - 1) <= 0.10, name
        assert abs(trainable / paper_params - 1) <= 0.10, name
        assert abs(flops / paper_flops - 1) <= 0.10, name


def test_trainable_counts_leave_out_the_running_statistics():
    """Every BatchNorm of SINet holds two running statistics per channel, not trained."""
    net = ig.get_model('sinet_0_2', classes=10)
    net.initialize()
    net(mx.nd.zeros((1, 3, 224, 224)))
    running = sum(p.data().size for name, p in net.collect_params().items()
                  if name.endswith(('running_mean', 'running_var')))
    gammas = sum(p.data().size for name, p in net.collect_params().items()
                 if name.endswith('gamma'))
    assert running == 2 * gammas > 0
    assert tables.trainable_params('sinet_0_2', (1, 3, 224, 224), classes=10) == \
        ig.count_params(net) - running


def test_every_new_name_builds_its_graph():
    assert len(NEW) == 76
    for name in NEW:
        net = ig.get_model(name, classes=3)
        out = net(mx.sym.var('data'))
        shape = (1, 3, 32, 32)
        assert out.infer_shape(data=shape)[1] == [(1, 3)], name


@pytest.mark.parametrize('name, fragment', [
    ('mobilenet1_0_g1_ex', 'needs G >= 2'), ('se_mobilenet1_0_g2', 'takes no attention'),
    ('ini_resnet34_v1_g2_mix5d', 'only the attention se'), ('sinet_1_12', 'tenths is one digit'),
    ('resnet50_v1_g2', 'depth 18 or 34'), ('sinet_0_0', 'above 0'),
    # a G that does not divide a grouped width would build an ungrouped network, or crash
    ('resnet34_v1_g3', 'G = 3 does not divide the widths 64, 128, 256, 512'),
    ('mobilenet1_0_g64_ex', 'G = 64 does not divide the widths 32 '),
    ('mobilenetv2_1_0_g16_ex', 'G = 16 does not divide the widths 24 of'),
    ('mobilenet0_75_g2', 'mobilenet<whole>_<tenths>: tenths is one digit')])
def test_names_that_cannot_be_built_say_why(name, fragment):
    with pytest.raises(ValueError, match=fragment):
        ig.get_model(name)


@pytest.mark.parametrize('name, keyword', [('sinet_1_0', {'groups': 4}),
                                           ('mobilenet1_0_g2', {'cifar': True}),
                                           ('resnet18_v1_g2', {'thumbnail': True}),
                                           ('resnet18_v1_g2', {'attn': 'se'})])
def test_keywords_that_would_change_what_the_name_says_are_refused(name, keyword):
    with pytest.raises(ValueError, match='takes no keyword %s' % list(keyword)[0]):
        ig.get_model(name, **keyword)


def test_only_identity_shortcuts_are_exchanged():
    net = ig.get_model('resnet18_v1_g2_ex')
    blocks = [b for stage in list(net.features)[4:8] for b in stage]
    assert [b.exchange for b in blocks] == [True, True, False, True, False, True, False, True]
    assert [b.downsample is None for b in blocks] == [b.exchange for b in blocks]


def test_grad_cam_refuses_a_joint_decision_in_one_line():
    from ini_gluon.analysis.gradcam import grad_cam
    net = ig.get_model('sinet_0_2', classes=3)
    net.initialize()
    with pytest.raises(ValueError, match='Grad-CAM does not apply'):
        grad_cam(net, np.zeros((1, 3, 32, 32), np.float32))


def test_train_cifar_names_the_32x32_twin():
    from ini_gluon.training.settings import build_parser, resolve
    s = resolve(build_parser().parse_args(['--model', 'se_resnet18_v1_g2', '--dataset',
                                           'cifar100']))
    assert any('se_cifar_resnet18_v1_g2 is the same network' in w for w in s.warnings)
    s = resolve(build_parser().parse_args(['--model', 'se_cifar_resnet18_v1_g2', '--dataset',
                                           'cifar100']))
    assert not any('twin' in w or '224x224' in w for w in s.warnings)


@pytest.mark.parametrize('model', ['sinet_1_0', 'sinet_1_8'])
def test_train_cifar_warns_of_a_224_network_without_a_twin(model):
    """SINet(1.0) downsamples 32 times: at 32 x 32 its last maps are 1 x 1."""
    from ini_gluon.training.settings import build_parser, resolve
    s = resolve(build_parser().parse_args(['--model', model, '--dataset', 'cifar10']))
    assert list(s.warnings) == ['%s is built for 224x224 inputs (its last maps would be 1x1 '
                                'here) and has no 32x32 twin: trained as given' % model]


def test_sinet_1_0_on_32x32_ends_in_1x1_maps():
    net = ig.get_model('sinet_1_0', classes=10, features_only=True)
    net.initialize()
    shapes = [o.shape for o in net(mx.nd.zeros((1, 3, 32, 32)))]
    assert shapes[-1][-2:] == (1, 1)


def test_flag_names_round_trip():
    spec = ig.models.parse_model_name('se_cifar_resnet34_v1_g2_ex_hjd')
    assert spec.kwargs == {'depth': 34, 'groups': 2, 'exchange': 1, 'hjd': 1}
    assert spec.name == 'se_cifar_resnet34_v1_g2_ex_hjd'
    assert ig.models.parse_model_name('mobilenetv2_1_0_g2_hjd').kwargs == {
        'whole': 1, 'tenths': 0, 'groups': 2, 'exchange': 0, 'hjd': 1}


def test_the_command_counts_a_224_network_with_1000_classes(capsys):
    from ini_gluon.__main__ import main as info
    info(['sinet_1_0'])
    assert 'total parameters: 3,012,622' in capsys.readouterr().out


def test_summary_shows_groups_exchange_funnel_and_decision():
    text = summary(ig.get_model('sinet_1_0'))
    rows = {line.split()[0]: line.split() for line in text.splitlines()
            if line.startswith('features.')}
    # Block 1's unit: 21 -> 24, ungrouped (21 is odd), no shortcut; it feeds the decision
    assert rows['features.3.0'][1:] == ['21', '->', '24', '2', '1', '-', '-', 'yes', '873']
    assert rows['features.7.4'][4:9] == ['1', '2', 'yes', 'yes', 'yes']
    assert rows['features.7.3'][8] == '-'
    assert 'the classifier takes 432' in text and 'total parameters: 3,012,622' in text


def test_a_sinet_learns_a_batch_of_digits():
    """SINet(0.2), the smallest width the rounding keeps, fits 32 of scikit-learn's digits
    (8x8, each pixel made 4x4): 40 steps of Nesterov SGD take the loss from ln 10 = 2.30 (an
    untrained network's) to under 0.3, and the batch is then classified as labelled."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = np.kron(digits.images[:32] / 16.0, np.ones((4, 4)))[:, None].repeat(3, axis=1)
    x, y = mx.nd.array(images), mx.nd.array(digits.target[:32])
    net = ig.get_model('sinet_0_2', classes=10)
    net.initialize(mx.init.Xavier(magnitude=2))
    net.hybridize()
    trainer = mx.gluon.Trainer(net.collect_params(), 'nag', {'learning_rate': 0.1,
                                                             'momentum': 0.9})
    loss_of = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for _ in range(40):
        with mx.autograd.record():
            loss = loss_of(net(x), y).mean()
        loss.backward()
        trainer.step(1)
        losses.append(loss.asscalar())
    assert abs(losses[0] - np.log(10)) < 0.2 and losses[-1] < 0.3
    with mx.autograd.train_mode():                # the batch's own statistics, as it trained
        assert (net(x).argmax(axis=1).asnumpy() == digits.target[:32]).mean() >= 0.9


@pytest.mark.parametrize('name', ['cifar_mobilenetv2_0_5' + v for v in
                                  ('_g1', '_g2', '_g2_ex', '_g1_hjd', '_g2_hjd', '_g2_ex_hjd')] +
                         ['sinet_1_0', 'sinet_1_2', 'sinet_1_6', 'sinet_1_8'])
def test_each_variant_hybridizes_exports_and_reloads_equal(name, tmp_path):
    """Every flag combination (on the cheapest family with shortcuts) and every SINet width;
    test_deploy exports one model of each family to ONNX too."""
    net = ig.get_model(name, classes=4)
    net.initialize(mx.init.Xavier(magnitude=2))
    x = mx.nd.random.uniform(-1, 1, shape=(2, 3, 32, 32))
    eager = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-4, atol=1e-5)
    net.export(str(tmp_path / 'net'))
    loaded = mx.gluon.SymbolBlock.imports(str(tmp_path / 'net-symbol.json'), ['data'])
    loaded.load_parameters(str(tmp_path / 'net-0000.params'))
    np.testing.assert_allclose(loaded(x).asnumpy(), eager, rtol=1e-4, atol=1e-5)
