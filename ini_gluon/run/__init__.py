"""A run folder and what it holds, below the training and the tools that read it.

* :mod:`~ini_gluon.run.settings` -- a run's settings, declared once (:class:`Settings`), and
  their JSON (``settings.json``, a checkpoint's ``meta.json``);
* :mod:`~ini_gluon.run.files` -- atomic writes and the project's temporaries;
* :mod:`~ini_gluon.run.checkpoint` -- checkpoints that survive a kill;
* :mod:`~ini_gluon.run.folder` -- one run per folder: its identity, the resume checks, locks;
* :mod:`~ini_gluon.run.trained` -- the trained network: :func:`build_net` (the one builder of a
  run's network), its weights and preprocessing (:func:`open_run`);
* :mod:`~ini_gluon.run.export` -- a trained network for deployment;
* :mod:`~ini_gluon.run.figures` -- figures written atomically, and a run's training curve.
"""
from .settings import Settings, from_json, to_json
from .trained import (RunError, Trained, Preprocessing, build_net, open_run, open_params,
                      load_weights, read_settings)

__all__ = ['Settings', 'from_json', 'to_json', 'RunError', 'Trained', 'Preprocessing',
           'build_net', 'open_run', 'open_params', 'load_weights', 'read_settings']
