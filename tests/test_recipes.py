"""Today's recipes next to the papers': label smoothing, CutMix, random erasing, RandAugment,
the moving average of the weights, no weight decay on BatchNorm and biases, the optimizer
choice, the cosine schedule with warm-up; each a known input with its known output, computed
here by hand."""
import json
import math
import os

import mxnet as mx
import numpy as np
import pytest

from ini_gluon.data import cutmix_box, erase_boxes
from ini_gluon.data.randaugment import OPERATIONS, apply_operation, rand_augment
from ini_gluon.run.optimizer_state import OptimizerStateError, load_optimizer, save_optimizer
from ini_gluon.run.settings import Settings
from ini_gluon.training import main
from ini_gluon.training.ema import WeightAverage
from ini_gluon.training.loop import _erased, _pasted, mixed_targets
from ini_gluon.training.optim import no_weight_decay_on_bn_and_bias
from ini_gluon.training.schedule import make_schedule


# ---------------------------------------------------------------- label smoothing
def test_label_smoothing_gives_gluoncvs_targets():
    # K = 4 classes, eps = 0.2: 1 - 0.2 + 0.2 / 4 = 0.85 for the class, 0.2 / 4 = 0.05 else
    y = mx.nd.array([2, 0])
    np.testing.assert_allclose(mixed_targets(y, 4, 1.0, 0.2).asnumpy(),
                               [[0.05, 0.05, 0.85, 0.05], [0.85, 0.05, 0.05, 0.05]], rtol=1e-6)
    # mixed with the batch's reverse by lam 0.75: 0.75 * 0.85 + 0.25 * 0.05 = 0.65 and
    # 0.75 * 0.05 + 0.25 * 0.85 = 0.25 on the other's class
    np.testing.assert_allclose(mixed_targets(y, 4, 0.75, 0.2).asnumpy()[0],
                               [0.25, 0.05, 0.65, 0.05], rtol=1e-6)
    np.testing.assert_allclose(mixed_targets(y, 4).asnumpy(), [[0, 0, 1, 0], [1, 0, 0, 0]])


# ---------------------------------------------------------------- CutMix
def test_cutmix_pastes_the_reverses_box_and_weighs_the_labels_by_the_area_left():
    x = mx.nd.array(np.stack([np.full((1, 4, 4), 1.0), np.full((1, 4, 4), 2.0)]))
    pasted = _pasted(x, (1, 3, 0, 2)).asnumpy()
    # rows 1-2, columns 0-1 of each image come from the other one
    expected = np.stack([np.full((1, 4, 4), 1.0), np.full((1, 4, 4), 2.0)])
    expected[0, :, 1:3, 0:2], expected[1, :, 1:3, 0:2] = 2.0, 1.0
    np.testing.assert_array_equal(pasted, expected)
    assert _pasted(x, (2, 2, 0, 3)) is x            # an empty box pastes nothing
    for batch in range(40):
        lam, (top, bottom, left, right) = cutmix_box(1, 0, batch, 1.0, 32, 24)
        assert 0 <= top <= bottom <= 32 and 0 <= left <= right <= 24
        # lam is the share of the image outside the box
        assert lam == pytest.approx(1 - (bottom - top) * (right - left) / (32 * 24.0))
    # Beta(a, a) with a large a: lam near 0.5, a box of side int(32 * sqrt(0.5)) = 22 at most
    sides = [cutmix_box(2, 0, b, 1e6, 32, 32)[1] for b in range(20)]
    assert max(b - t for t, b, _, _ in sides) <= 22
    assert max(b - t for t, b, _, _ in sides) >= 20   # unclipped ones are 2 * (22 // 2)


# ---------------------------------------------------------------- random erasing
def test_random_erasing_boxes_and_what_they_erase():
    boxes = erase_boxes(3, 1, 0, 64, 32, 32, 1.0)
    assert len(boxes) > 40 and len({b[0] for b in boxes}) == len(boxes)
    for _, top, bottom, left, right in boxes:
        h, w = bottom - top, right - left
        assert 0 <= top and bottom <= 32 and 0 <= left and right <= 32
        # 2 % to 40 % of the 1024 pixels, aspect w / h from 0.3 to 1 / 0.3 (rounded sides)
        assert 0.02 * 1024 * 0.6 <= h * w <= 0.4 * 1024 * 1.25
        assert 0.3 * 0.7 <= w / float(h) <= 1.4 / 0.3
    assert erase_boxes(3, 1, 0, 64, 32, 32, 0.0) == []
    half = erase_boxes(3, 1, 0, 2000, 32, 32, 0.5)
    assert 800 < len(half) < 1000          # half the images drawn, some boxes do not fit
    images = np.ones((2, 3, 8, 8), np.float32)
    out = _erased(images, [(1, 2, 5, 1, 3)])
    assert (out[0] == 1).all() and (out[1, :, 2:5, 1:3] == 0).all()
    assert (out == 0).sum() == 3 * 3 * 2


# ---------------------------------------------------------------- RandAugment
def test_randaugment_operations_at_known_magnitudes():
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, 5] = 183                                       # 0b10110111, one bright column
    np.testing.assert_array_equal(apply_operation(image, 'Identity', 9), image)
    # Posterize at 10 keeps 4 bits: 0b10110000 = 176
    assert set(np.unique(apply_operation(image, 'Posterize', 10))) == {0, 176}
    # Solarize at 10: threshold 0, every pixel inverted: 255 - 183 = 72, 255 - 0 = 255
    assert set(np.unique(apply_operation(image, 'Solarize', 10))) == {72, 255}
    assert (apply_operation(image, 'Solarize', 0) == image).all()       # threshold 256
    # TranslateX at 10: 45 % of 8 pixels, round(3.6) = 4: the column moves from 5 to 1, the
    # 4 columns that come in on the right are grey
    moved = apply_operation(image, 'TranslateX', 10)
    assert (moved[:, 1] == 183).all() and (moved[:, 4:] == 128).all()
    assert (moved[:, [0, 2, 3]] == 0).all()
    back = apply_operation(image, 'TranslateX', 10, negative=True)     # to the right: 5 -> 9
    assert (back[:, :4] == 128).all() and not (back == 183).any()
    # Rotate at 10, 30 degrees: a square's corners turn out of the image
    assert len(OPERATIONS) == 14


def test_randaugment_draws_from_the_generator_it_is_given():
    images = np.random.RandomState(0).randint(0, 256, (6, 8, 8, 3)).astype(np.uint8)
    a = rand_augment(images, 2, 9, np.random.RandomState(5))
    b = rand_augment(images, 2, 9, np.random.RandomState(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == images.shape and a.dtype == np.uint8 and (a != images).any()
    assert (rand_augment(images, 2, 9, np.random.RandomState(6)) != a).any()


# ---------------------------------------------------------------- the moving average
def _dense(value):
    net = mx.gluon.nn.Dense(2, in_units=2)
    net.initialize()
    net.weight.set_data(mx.nd.full((2, 2), value))
    net.bias.set_data(mx.nd.full((2,), value))
    return net


def test_one_and_two_steps_of_the_moving_average_by_hand(tmp_path):
    net = _dense(1.0)
    ema = WeightAverage(net, 0.99)
    ema.start()                                             # from the weights before updates
    net.weight.set_data(mx.nd.full((2, 2), 3.0))
    ema.update()        # n = 0: d = min(0.99, 1 / 10) = 0.1: 0.1 * 1 + 0.9 * 3 = 2.8
    np.testing.assert_allclose(ema.arrays['weight'].asnumpy(), 2.8, rtol=1e-6)
    net.weight.set_data(mx.nd.full((2, 2), 5.0))
    ema.update()        # n = 1: d = 2 / 11: 2 / 11 * 2.8 + 9 / 11 * 5 = 4.6
    np.testing.assert_allclose(ema.arrays['weight'].asnumpy(), 2 / 11. * 2.8 + 9 / 11. * 5,
                               rtol=1e-6)
    np.testing.assert_allclose(ema.arrays['bias'].asnumpy(), 1.0, rtol=1e-6)   # it stayed 1
    assert ema.factor(10 ** 6) == 0.99
    with ema.applied():                                     # the net holds the average
        np.testing.assert_allclose(net.weight.data().asnumpy(), 4.6, rtol=1e-6)
    assert (net.weight.data().asnumpy() == 5).all()         # and its own weights after
    record = ema.save(str(tmp_path / 'ema.params'))
    other = WeightAverage(_dense(0.0), 0.99)
    other.load(str(tmp_path / 'ema.params'), record)
    assert other.updates == 2
    np.testing.assert_array_equal(other.arrays['weight'].asnumpy(),
                                  ema.arrays['weight'].asnumpy())
    loaded = _dense(0.0)
    loaded.load_parameters(str(tmp_path / 'ema.params'))   # a parameter file of the network
    np.testing.assert_allclose(loaded.weight.data().asnumpy(), 4.6, rtol=1e-6)
    with pytest.raises(ValueError, match='not the parameters of the network'):
        WeightAverage(mx.gluon.nn.Dense(2, in_units=2, use_bias=False), 0.9).load(
            str(tmp_path / 'ema.params'), record)


# ---------------------------------------------------------------- the optimizers
def _step(optimizer, value, grad, **options):
    net = _dense(value)
    trainer = mx.gluon.Trainer(net.collect_params(), optimizer, dict(options))
    with mx.autograd.record():
        out = (net(mx.nd.array([[1.0, 0.0]])) * 0).sum() + (net.weight.data() * grad).sum()
    out.backward()
    trainer.step(1)
    return net, trainer


def test_one_step_of_each_optimizer_by_hand():
    # w = 2, gradient of the weight 0.5, lr 0.1, wd 0.01
    w, g, lr, wd = 2.0, 0.5, 0.1, 0.01
    net, _ = _step('sgd', w, g, learning_rate=lr, wd=wd, momentum=0.9)
    assert net.weight.data().asnumpy()[0, 0] == pytest.approx(w - lr * (g + wd * w))
    # Nesterov: the first step goes (1 + momentum) times as far
    net, _ = _step('nag', w, g, learning_rate=lr, wd=wd, momentum=0.9)
    assert net.weight.data().asnumpy()[0, 0] == pytest.approx(w - lr * 1.9 * (g + wd * w))
    # AdamW: m = 0.1 g, v = 0.001 g^2; bias-corrected m / sqrt(v) = g / |g| = 1 (eps aside);
    # the weight decay decoupled: w - lr * (1 + wd * w)
    net, trainer = _step('adamw', w, g, learning_rate=lr, wd=wd)
    m, v = 0.1 * g, 0.001 * g * g
    by_hand = w - lr * (math.sqrt(1 - 0.999) / (1 - 0.9) * m / (math.sqrt(v) + 1e-8) + wd * w)
    assert net.weight.data().asnumpy()[0, 0] == pytest.approx(by_hand, rel=1e-6)
    assert by_hand == pytest.approx(w - lr * (1 + wd * w), rel=1e-6)
    index = [p.name for p in trainer._params].index(net.weight.name)
    mean, var = trainer._updaters[0].states[index]
    np.testing.assert_allclose(mean.asnumpy(), m, rtol=1e-6)
    np.testing.assert_allclose(var.asnumpy(), v, rtol=1e-4)


def test_adamw_state_round_trips_and_another_optimizers_is_refused(tmp_path):
    _, trainer = _step('adamw', 2.0, 0.5, learning_rate=0.1, wd=0.01)
    record = save_optimizer(trainer, str(tmp_path / 'optimizer.params'))
    assert record['optimizer'] == 'adamw'
    _, fresh = _step('adamw', 1.0, 0.1, learning_rate=0.1)
    load_optimizer(fresh, str(tmp_path / 'optimizer.params'), record)
    assert sorted(fresh._updaters[0].states) == [0, 1]
    for i in (0, 1):
        for ours, theirs in zip(trainer._updaters[0].states[i], fresh._updaters[0].states[i]):
            np.testing.assert_array_equal(ours.asnumpy(), theirs.asnumpy())
    assert fresh.optimizer.num_update == 1
    _, nag = _step('nag', 1.0, 0.1, learning_rate=0.1, momentum=0.9)
    with pytest.raises(OptimizerStateError, match='state of optimizer adamw, the run.s is nag'):
        load_optimizer(nag, str(tmp_path / 'optimizer.params'), record)


def test_no_weight_decay_on_batchnorm_and_biases():
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Conv2D(2, 1, in_channels=1), mx.gluon.nn.BatchNorm(in_channels=2))
    net.initialize(mx.init.One())
    before = {name: p.data().asnumpy() for name, p in net.collect_params().items()}
    no_weight_decay_on_bn_and_bias(net)
    trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.5, 'wd': 0.1})
    with mx.autograd.record():
        loss = net(mx.nd.ones((1, 1, 1, 1))).sum() * 0        # every gradient 0
    loss.backward()
    trainer.step(1)
    # the convolution's weight (1) decays by lr * wd = 5 %; its bias, gamma and beta do not
    after = {name: p.data().asnumpy() for name, p in net.collect_params().items()}
    kinds = {name.rsplit('_', 1)[1]: name for name in after}
    np.testing.assert_allclose(after[kinds['weight']], 0.95, rtol=1e-6)
    for kind in ('bias', 'gamma', 'beta'):
        np.testing.assert_array_equal(after[kinds[kind]], before[kinds[kind]])


# ---------------------------------------------------------------- cosine with warm-up
def test_the_cosine_schedule_with_warm_up_at_known_points():
    # 2 warm-up epochs then 4 of cosine, 10 updates an epoch, lr 0.4: linear from 0 to 0.4,
    # then 0.4 * (1 + cos(pi * t / 39)) / 2 at the cosine part's update t from 0 (GluonCV's:
    # 0 at its last update, t = 39)
    iters = 10
    s = Settings(lr=0.4, num_epochs=6, warmup_epochs=2, lr_mode='cosine', optimizer='adamw',
                 lr_decay_epoch=())
    optimizer = mx.optimizer.create('adamw', learning_rate=0.4,
                                    lr_scheduler=make_schedule(s, iters))
    lrs = []
    for _ in range(6 * iters):
        optimizer._update_count(0)
        lrs.append(optimizer._get_lr(0))
    # GluonCV's linear warm-up: 0 at the first update, 0.4 at the last of the 20
    assert lrs[:20] == pytest.approx([0.4 * k / 19 for k in range(20)])
    for t in (0, 1, 10, 20, 30, 39):
        assert lrs[20 + t] == pytest.approx(0.4 * (1 + math.cos(math.pi * t / 39)) / 2), t
    assert lrs[-1] == 0


# ---------------------------------------------------------------- the digits demo with them on
RECIPES = ['--num-epochs', '5', '--batch-size', '32', '--label-smoothing', '0.1', '--cutmix',
           '0.2', '--mixup-off-epoch', '2', '--random-erasing', '0.1', '--rand-augment', '1,3',
           '--ema', '0.8', '--optimizer', 'adamw', '--lr', '0.01', '--wd', '0.05',
           '--no-wd-bn-bias', '--lr-mode', 'cosine', '--warmup-epochs', '1']


@pytest.mark.slow
def test_the_digits_demo_reaches_95_percent_with_every_recipe_on(tmp_path):
    """One run of the README's demo (InI-ResNet-8 mix-5-d on digits) with every option of the
    recipes on: label smoothing, CutMix, random erasing, RandAugment, the moving average,
    AdamW without weight decay on BatchNorm and biases, cosine with a warm-up epoch."""
    save = str(tmp_path / 'digits')
    assert main(['--dataset', 'digits', '--model', 'ini_resnet8_mix5d', '--save-dir', save,
                 '--save-period', '5'] + RECIPES) == 0
    with open(os.path.join(save, 'metrics.jsonl')) as f:
        rows = [json.loads(line) for line in f]
    assert rows[-1]['val_acc'] >= 0.95 and rows[-1]['ema_val_acc'] >= 0.95
    assert [r['cutmix'] for r in rows] == [True] * 3 + [False] * 2     # off in the tail
    # the learning rate at each epoch's end: the warm-up's top, then the cosine by hand over
    # the 4 epochs after it, 44 updates an epoch (1437 training images in batches of 32, the
    # last, partial one dropped); 0 at the last update
    iters = 1437 // 32
    cosine = [0.01 * (1 + math.cos(math.pi * (e * iters - 1) / (4 * iters - 1))) / 2
              for e in range(1, 5)]
    assert [r['lr'] for r in rows] == pytest.approx([0.01] + cosine, abs=1e-9)
    with open(os.path.join(save, 'settings.json')) as f:
        recorded = json.load(f)
    for flag in [a for a in RECIPES if a.startswith('--')]:
        assert recorded['sources'][flag[2:].replace('-', '_')] == 'user', flag
    for name in ('export-ema-final', 'export-ema-best', 'export-final'):
        assert os.path.exists(os.path.join(save, name, 'ini_resnet8_mix5d-0000.params')), name
    assert os.path.exists(os.path.join(save, 'checkpoint-epoch0004', 'ema.params'))
