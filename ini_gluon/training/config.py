"""``--config FILE``: a run started from the settings of a file, ``settings.json`` of any earlier
run or a YAML file of the same keys (``lr: 0.05``, ``lr_decay_epoch: [30, 60]``).

What fills a setting, first to last: a flag given on the command line, the file, the preset's
recipe, the default.  A setting read from the file says so as its source, ``config:<path>``
(``--dry-run`` shows it), and keeps the note the file gives it (a ``settings.json``'s notes);
so a ``--config`` run of an earlier run's ``settings.json`` writes the same ``settings.json``
but for the sources and what the command line changed.

Every key of the file is checked as its flag would be (type, choices) before anything runs:
a key that is no setting, a value of the wrong kind, or a setting of the other script set to
anything but its default is one line naming the file and the key.  Not read from a file:
``resume_from`` and ``overwrite`` (what a command does with its folder, not how the run
trains: a file saying ``overwrite`` would remove a run's files unasked), and what a run fills
in itself (``model_name`` is read as ``--model``: the name the run's files carry; the class
count, the normalisation and the class names come from the data).
"""
import dataclasses
import os

import yaml

from ..run.files import read_json
from ..run.settings import SCRIPTS, Settings, checked_value, declarations
from .settings import SettingsError, build_parser

__all__ = ['apply_config', 'read_config', 'NOT_READ']

NOT_READ = ('resume_from', 'overwrite')
_FILLED = ('model_name', 'num_classes', 'mean', 'std', 'class_names')
_RECORDS = ('sources', 'notes', 'warnings')
_PROGS = {'cifar': 'train_cifar.py', 'imagenet': 'train_imagenet.py'}


def _load(path):
    """The dict a config file holds: strict JSON for ``.json``, else YAML (``safe_load``:
    plain data, never an object)."""
    if path.endswith('.json'):
        return read_json(path, 'config')
    try:
        with open(path, encoding='utf-8') as f:
            found = yaml.safe_load(f)
    except UnicodeDecodeError:
        raise SettingsError('config %s is not UTF-8 text' % path) from None
    except yaml.YAMLError as err:
        where = getattr(err, 'problem_mark', None)
        raise SettingsError('config %s is not valid YAML%s: %s' % (
            path, ' (line %d)' % (where.line + 1) if where else '',
            getattr(err, 'problem', None) or 'unreadable')) from None
    if not isinstance(found, dict):
        raise SettingsError('config %s holds %s, expected a mapping of setting names to values'
                            % (path, type(found).__name__))
    return found


def _value(path, name, value, d):
    """``value`` of the key ``name`` as the flag of the declaration ``d`` would give it."""
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    if kind is tuple and isinstance(value, str):
        return value                          # "60,120": read as the flag reads it
    try:
        value = checked_value(name, value, kind)
    except ValueError as err:
        raise SettingsError('config %s: %s' % (path, err)) from None
    choices = d.parse.get('choices')
    if choices is not None and value not in choices:
        raise SettingsError('config %s: %s is %r, expected one of %s'
                            % (path, name, value, ', '.join(map(str, choices))))
    if kind is tuple:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise SettingsError('config %s: %s is %r, expected a list of integers'
                                % (path, name, list(value)))
        return list(value)
    return value


def read_config(path, script='cifar'):
    """``({setting: value}, {setting: note})`` of the config file ``path`` for ``script``
    (``'cifar'`` or ``'imagenet'``): the values as the command line's flags give them, checked;
    a :class:`~ini_gluon.training.settings.SettingsError` of one line naming the file and the
    key where a value is not a setting's."""
    if not os.path.isfile(path):
        raise SettingsError('config %s: no such file (give a settings.json of a run, or a YAML '
                            'file of its keys)' % path)
    found = _load(path)
    ours = declarations(script)
    others = {n: d for s in SCRIPTS if s != script for n, d in declarations(s).items()}
    fields = {f.name: f.default for f in dataclasses.fields(Settings) if f.metadata}
    values = {}
    for name, value in found.items():
        if name in _RECORDS or name in _FILLED or name in NOT_READ or value is None:
            continue
        if name in ours and ours[name].flags:
            values[name] = _value(path, name, value, ours[name])
        elif name in ours or (name in fields and value == fields[name]):
            continue                          # no flag of this script, or the other's default
        elif name in others:
            other = [s for s in SCRIPTS if s != script][0]
            raise SettingsError('config %s: %s is a setting of %s, not of %s'
                                % (path, name, _PROGS[other], _PROGS[script]))
        else:
            raise SettingsError('config %s: %s is not a setting (%s --help lists them; a '
                                'settings.json names them with underscores)'
                                % (path, name, _PROGS[script]))
    if isinstance(found.get('model_name'), str):
        values['model'] = found['model_name']
    notes = found.get('notes') if isinstance(found.get('notes'), dict) else {}
    return values, {k: v for k, v in notes.items() if k in values and isinstance(v, str)}


def apply_config(opt, argv, script='cifar'):
    """The parsed command line ``opt`` (of ``argv``) with the settings of its ``--config``
    file where no flag gave them; ``opt.config_sources`` and ``opt.config_notes`` say which
    came from the file (:func:`~ini_gluon.training.settings.resolve` reads them)."""
    path = getattr(opt, 'config', None)
    if not path:
        return opt
    values, notes = read_config(path, script)
    given = vars(build_parser(script, explicit=True).parse_args(argv))
    source = 'config:%s' % path
    opt.config_sources, opt.config_notes = {}, {}
    for name, value in values.items():
        if name in given:
            continue
        setattr(opt, name, value)
        opt.config_sources[name] = source
        if name in notes:
            opt.config_notes[name] = notes[name]
    return opt
