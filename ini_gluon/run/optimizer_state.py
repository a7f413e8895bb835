"""A trainer's optimizer state in a format that cannot carry code.

Gluon's ``Trainer.save_states`` pickles the optimizer and its state, and ``load_states``
unpickles them: a crafted file would run code when a run is resumed.  A checkpoint holds the
state instead as data alone, which is why this is written here rather than taken from Gluon:

* ``optimizer.params``: every state array (momentum of ``nag`` and ``sgd``, AdamW's mean and
  variance; with float16, the float32 master weights too) in MXNet's binary NDArray format
  (``mx.nd.save``), named ``s<index>.<position>``;
* in the checkpoint's ``meta.json``, under ``optimizer``: the update counts (from which the
  learning-rate schedule is computed again, and AdamW its bias correction: both are functions
  of the update counts), the optimizer's name (a state of another optimizer is refused) and the
  shape of each state (an array's name, ``null``, or a list of them).

The optimizer itself is not saved: a resume builds it from the run's settings, which a resume
may not change (:mod:`ini_gluon.run.folder`).  The updaters' states are Gluon's own
(``mx.optimizer.Updater.states``), read and set as ``Updater.get_states`` / ``set_states``
would, without pickling.
"""
import mxnet as mx

__all__ = ['OPTIMIZER_FILE', 'save_optimizer', 'load_optimizer', 'OptimizerStateError']

OPTIMIZER_FILE = 'optimizer.params'
FORMAT = 'ini-gluon optimizer state 1'


class OptimizerStateError(ValueError):
    """An optimizer state that is missing, unreadable or does not fit the trainer."""


def _updaters(trainer):
    """The updaters holding the trainer's state: the kvstore's where it updates, else one per
    device (Gluon saves and restores the first's for all)."""
    if not trainer._kv_initialized:
        trainer._init_kvstore()
    if trainer._params_to_init:
        trainer._init_params()
    if trainer._update_on_kvstore:
        return [trainer._kvstore._updater]
    return trainer._updaters


def _flatten(state, name, arrays):
    """The JSON shape of one state: an array's name (the array into ``arrays``), ``None``,
    a number, or a list of shapes."""
    if state is None or isinstance(state, (int, float)):
        return state
    if isinstance(state, mx.nd.NDArray):
        arrays[name] = state
        return {'array': name}
    if isinstance(state, (tuple, list)):
        return {'tuple' if isinstance(state, tuple) else 'list':
                [_flatten(s, '%s.%d' % (name, i), arrays) for i, s in enumerate(state)]}
    raise OptimizerStateError('an optimizer state of type %s cannot be saved'
                              % type(state).__name__)


def save_optimizer(trainer, path):
    """Write the trainer's state arrays to ``path``; returns the JSON part (for ``meta.json``)."""
    updater = _updaters(trainer)[0]
    optimizer = updater.optimizer
    arrays = {}
    states = {str(i): _flatten(s, 's%d' % i, arrays) for i, s in updater.states.items()}
    mx.nd.save(path, arrays)
    return {'format': FORMAT, 'optimizer': type(optimizer).__name__.lower(),
            'num_update': optimizer.num_update,
            'index_update_counts': {str(device): {str(i): n for i, n in counts.items()}
                                    for device, counts in
                                    optimizer._all_index_update_counts.items()},
            'states': states}


def _unflatten(shape, arrays, where):
    if shape is None or isinstance(shape, (int, float)) and not isinstance(shape, bool):
        return shape
    if isinstance(shape, dict) and len(shape) == 1:
        (kind, value), = shape.items()
        if kind == 'array' and value in arrays:
            return arrays[value]
        if kind in ('tuple', 'list') and isinstance(value, list):
            items = [_unflatten(v, arrays, where) for v in value]
            return tuple(items) if kind == 'tuple' else items
    raise OptimizerStateError('%s: a state entry is not an array, a number or a list of them'
                              % where)


def _counts(record, where):
    try:
        return {int(d): {int(i): int(n) for i, n in c.items()}
                for d, c in record['index_update_counts'].items()}, int(record['num_update'])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise OptimizerStateError('%s: the update counts are not integers by index' % where)


def _check_fits(states, params, where):
    """Each state belongs to a parameter of the trainer, and its arrays have that parameter's
    shape (momentum, float32 master weights)."""
    for index, state in states.items():
        if not 0 <= index < len(params):
            raise OptimizerStateError('%s: a state for parameter %d, the trainer has %d'
                                      % (where, index, len(params)))
        shape = params[index].shape
        for array in _leaves(state):
            if tuple(array.shape) != tuple(shape):
                raise OptimizerStateError('%s: the state of %s has shape %s, the parameter %s'
                                          % (where, params[index].name, array.shape, shape))


def _leaves(state):
    if isinstance(state, mx.nd.NDArray):
        return [state]
    if isinstance(state, (tuple, list)):
        return [a for s in state for a in _leaves(s)]
    return []


def load_optimizer(trainer, path, record):
    """Set the trainer's state from the arrays of ``path`` and the JSON ``record`` that
    :func:`save_optimizer` returned; :class:`OptimizerStateError` naming the file where they
    are unreadable or do not fit the trainer (nothing set then)."""
    if not isinstance(record, dict) or record.get('format') != FORMAT:
        raise OptimizerStateError('%s: its record in meta.json is not an optimizer state of '
                                  'this project (%r)' % (path, FORMAT))
    try:
        arrays = mx.nd.load(path)
    except mx.base.MXNetError:
        raise OptimizerStateError('%s: not a readable MXNet array file' % path)
    if not isinstance(arrays, dict) or not isinstance(record.get('states'), dict):
        raise OptimizerStateError('%s: expected named state arrays' % path)
    if not all(i.isdigit() for i in record['states']):
        raise OptimizerStateError('%s: a state index is not an integer' % path)
    ours = type(trainer._optimizer).__name__.lower()
    if record.get('optimizer', ours) != ours:
        raise OptimizerStateError('%s: the state of optimizer %s, the run\'s is %s'
                                  % (path, record.get('optimizer'), ours))
    states = {int(i): _unflatten(s, arrays, path) for i, s in record['states'].items()}
    counts, num_update = _counts(record, path)
    _check_fits(states, trainer._params, path)
    for updater in _updaters(trainer):
        updater.states = dict(states)
        updater.states_synced = dict.fromkeys(states, False)   # copied to each device when used
    optimizer = trainer._optimizer
    optimizer._all_index_update_counts = counts or {0: {}}
    optimizer._index_update_count = optimizer._all_index_update_counts.setdefault(0, {})
    optimizer.num_update = num_update
