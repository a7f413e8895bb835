"""A run's settings are declared once (ini_gluon.run.settings): the parsers, the dry run's JSON,
settings.json, the run identity, the resume checks and the launcher's own options all follow
from the declarations."""
import dataclasses
import json

import pytest

from ini_gluon import seeds
from ini_gluon.models import parse_model_name
from ini_gluon.run.folder import RUN_IDENTITY, RUN_TRAINING
from ini_gluon.run.settings import (CIFAR, IDENTITY, IMAGENET, TRAINING, Settings, declarations,
                                    describe, differences, from_json, owned, to_json)
from ini_gluon.training import build_parser, resolve

ARGV = {CIFAR: ['--model', 'ini_resnet8_mix5d', '--dataset', 'digits', '--mixup'],
        IMAGENET: ['--model', 'se_resnet18_v1', '--num-epochs', '5']}


def _resolved(script, *extra):
    return resolve(build_parser(script).parse_args(ARGV[script] + list(extra)), script)


@pytest.mark.parametrize('script', [CIFAR, IMAGENET])
def test_the_parser_has_an_option_for_each_declared_setting_with_flags(script):
    declared = {n for n, d in declarations(script).items() if d.flags}
    parser = build_parser(script)
    dests = {a.dest for a in parser._actions} - {'help', 'config', 'dry_run', 'debug'}
    assert dests == declared
    flags = {f for a in parser._actions for f in a.option_strings}
    assert {'--lr', '--resume-from', '--save-dir', '-j'} <= flags
    assert ('--input-size' in flags, '--augment' in flags) == ((True, False) if script ==
                                                              IMAGENET else (False, True))


@pytest.mark.parametrize('script', [CIFAR, IMAGENET])
def test_the_dry_run_shows_each_shown_setting_and_settings_json_holds_all(script):
    s = _resolved(script)
    assert set(describe(s)) == {n for n, d in declarations(script).items() if d.shown}
    every = {f.name for f in dataclasses.fields(Settings) if f.metadata}
    assert set(to_json(s)) == every | {'sources', 'notes', 'warnings'}
    assert describe(s)['lr']['source'].startswith('preset:')


@pytest.mark.parametrize('script', [CIFAR, IMAGENET])
def test_settings_json_round_trips(script):
    s = _resolved(script).replace(num_classes=10, mean=[0.1, 0.2, 0.3], std=[0.3, 0.2, 0.1],
                                  class_names=[str(c) for c in range(10)])
    text = json.dumps(to_json(s))
    back = from_json(json.loads(text))
    assert back == s and isinstance(back.model, type(s.model))
    assert (back.sources, back.notes, back.warnings) == (s.sources, s.notes, s.warnings)
    assert json.dumps(to_json(back)) == text


def test_the_model_is_parsed_once_and_written_by_its_canonical_name():
    s = Settings(model='cifar_resnet8_v2', dataset='digits')
    assert s.model == parse_model_name('resnet8') and s.model_name == 'cifar_resnet8_v2'
    assert (to_json(s)['model'], to_json(s)['model_name']) == ('resnet8', 'cifar_resnet8_v2')
    given = _resolved(CIFAR, '--model', 'cifar_resnet8_v2')
    assert describe(given)['model']['value'] == 'resnet8'
    assert 'given as cifar_resnet8_v2' in describe(given)['model']['note']


def test_roles_give_the_run_identity_and_what_a_resume_may_not_change():
    assert RUN_IDENTITY == ('model', 'dataset', 'num_classes')
    assert set(RUN_TRAINING) == {
        'num_epochs', 'batch_size', 'lr', 'lr_decay', 'lr_decay_epoch', 'lr_mode',
        'warmup_epochs', 'wd', 'momentum', 'mixup', 'mixup_alpha', 'mixup_off_epoch', 'seed',
        'augment', 'drop_rate', 'dtype', 'input_size', 'crop_ratio',
        # today's recipe options: each changes what is trained
        'optimizer', 'no_wd_bn_bias', 'label_smoothing', 'cutmix', 'random_erasing',
        'rand_augment', 'ema'}


def test_another_spelling_of_the_network_is_the_same_run_and_a_changed_lr_is_not():
    ours = _resolved(CIFAR, '--model', 'cifar_resnet8_v2')
    theirs = from_json(to_json(_resolved(CIFAR, '--model', 'resnet8')))
    assert differences(theirs, ours, (IDENTITY, TRAINING)) == []
    other = _resolved(CIFAR, '--model', 'se_resnet8', '--lr', '0.5')
    assert differences(theirs, other, (IDENTITY, TRAINING)) == [
        ('model', 'se_resnet8', 'resnet8'), ('lr', 0.5, 0.1)]
    # a value not known yet (the class count before the data is read) is not compared
    assert differences(theirs.replace(num_classes=10), ours, (IDENTITY,)) == []


def test_settings_json_that_is_not_settings_is_one_error():
    with pytest.raises(ValueError, match='setting lr is "fast", expected a float'):
        from_json({'model': 'resnet8', 'lr': 'fast'})
    with pytest.raises(ValueError, match='unknown model name'):
        from_json({'model': 'resnet9'})
    assert from_json({'model': 'resnet8', 'no_such_setting': 1}).lr is None
    with pytest.raises(ValueError, match='model_name "../../x" is not a model name'):
        from_json({'model': 'resnet8', 'model_name': '../../x'})
    with pytest.raises(ValueError, match='model_name se_resnet8 is another network'):
        from_json({'model': 'resnet8', 'model_name': 'se_resnet8'})
    given = from_json({'model': 'resnet8', 'model_name': 'cifar_resnet8_v2'})
    assert given.model_name == 'cifar_resnet8_v2'


def test_the_launcher_owns_the_options_the_declarations_give_it():
    assert set(owned(CIFAR)) == {'model', 'seed', 'save_dir', 'resume_from', 'overwrite'}
    assert seeds.OWNED == owned(CIFAR)
    assert owned(CIFAR)['resume_from'][0] == '--resume / --resume-from'
    assert owned(IMAGENET)['resume_from'][0] == '--resume-from / --resume-params'
    with pytest.raises(ValueError, match='--resume-from / --resume-params is set by the launcher'):
        seeds.check_passthrough(['--resume-params', 'x'], 'imagenet')


def test_a_setting_a_file_does_not_hold_is_not_compared():
    # an earlier version's settings.json (or a fabricated one) without mixup_off_epoch: its
    # default (20) is not held against a run without mixup (0)
    theirs = from_json({'model': 'resnet8', 'dataset': 'digits', 'lr': 0.1})
    ours = _resolved(CIFAR, '--model', 'resnet8').replace(mixup=False, mixup_off_epoch=0)
    assert theirs.mixup_off_epoch == 20 and ours.mixup_off_epoch == 0
    assert differences(theirs, ours, (TRAINING,)) == []
    assert differences(theirs, ours.replace(lr=0.2), (TRAINING,)) == [('lr', 0.2, 0.1)]
