"""Child processes that end with the command that started them: the nodes of a job of
``python -m ini_gluon.training.launch`` and the runs of ``python -m ini_gluon.seeds launch``.

Written here because MXNet's own job launcher (dmlc's tracker behind ``tools/launch.py``) is not
shipped in the mxnet wheel, and its local mode leaves the job running when the launcher dies.
Each child of :class:`Children`:

* runs in a process group of its own, so that stopping it stops what it started in turn (a
  shell script's programs, a data loader's processes);
* gets SIGKILL from the kernel when the command that started it dies, even by SIGKILL, which
  no handler sees (Linux: ``prctl(PR_SET_PDEATHSIG)``, set in the child before its program
  runs; a command that died before that is seen at once as another parent);
* is registered with a guard process, which SIGKILLs the children's process groups when the
  command dies without having stopped them (the death signal reaches the child only, not what
  the child started).

SIGINT, SIGTERM and SIGHUP to the command raise :class:`Interrupted` within
:func:`stop_signals` (a signal the command was started ignoring, as under ``nohup``, stays
ignored); :meth:`Children.stop` ends the children: SIGTERM to each group, SIGKILL ``grace``
seconds later, or at once on a second such signal.  Ctrl-Z (SIGTSTP) stops the children with the
command, which continues them when it is continued.  A child ignores SIGTTOU, so that writing
to the terminal from its own process group does not stop it (``stty tostop``), and reads
``/dev/null`` unless told otherwise.
"""
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from functools import partial

__all__ = ['STOP_SIGNALS', 'Interrupted', 'stop_signals', 'signal_name', 'Children',
           'group_usage']

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# prctl(2)'s option for the signal a child gets when its parent dies (Linux).  Set here, in
# each child, because nothing else would: MXNet's dmlc tracker, which starts a job's nodes,
# is not shipped in the mxnet wheel, and subprocess has no option for it
PR_SET_PDEATHSIG = 1
try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith('linux') else None
except (OSError, AttributeError):
    _PRCTL = None

# the guard: reads the process groups of the children, one a line; at the end of its input
# without 'done' (the command died without stopping them), SIGKILLs them
_GUARD = r'''
import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGTSTP):
    signal.signal(s, signal.SIG_IGN)
groups = []
for line in sys.stdin:
    if line.strip() == 'done':
        sys.exit(0)
    groups.append(int(line))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
'''


def signal_name(signum):
    """``'SIGTERM'``, or ``'signal 64'`` for a number without a name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return 'signal %d' % signum


class Interrupted(BaseException):
    """SIGINT, SIGTERM or SIGHUP reached the command (a ``BaseException`` as
    ``KeyboardInterrupt``: no ``except Exception`` on the way swallows it); ``code``, the exit
    status it calls for, is 128 + the signal's number."""

    def __init__(self, signum):
        super().__init__(signal_name(signum))
        self.signum = signum
        self.code = 128 + signum


def _raise(signum, frame):
    raise Interrupted(signum)


@contextmanager
def stop_signals(handler=_raise):
    """Within the body, SIGINT, SIGTERM and SIGHUP call ``handler`` (by default: raise
    :class:`Interrupted`), but for those ignored when the body starts (``nohup``); the previous
    handlers come back after it.  Outside the main thread, which alone handles signals, it does
    nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield                               # signals are the main thread's to handle
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s, old in previous.items():
        if old is not signal.SIG_IGN:
            signal.signal(s, handler)
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, signal.SIG_DFL if old is None else old)


def _child_setup(parent, death):
    """In the child, before its program runs: a process group of its own, SIGTTOU ignored, and
    with ``death`` SIGKILL when ``parent`` dies, at once if it died already."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    if death and _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:          # the parent died before the prctl
            os.kill(os.getpid(), signal.SIGKILL)


def _signal_groups(procs, signum):
    for proc in procs:
        try:
            os.killpg(proc.pid, signum)
        except OSError:                     # gone already
            pass


class Children(object):
    """The processes a command starts (:meth:`start`), each in a process group of its own, all
    ended with the command (see the module's docstring).

    Start them from the main thread, which lives as long as they do (the kernel's death signal
    follows the thread that started a child).  Used as a context manager, it stops the
    children on leaving (:meth:`stop`) and forwards Ctrl-Z to them meanwhile.

    Parameters
    ----------
    grace : float
        Seconds the children get to end after SIGTERM before SIGKILL.
    """

    def __init__(self, grace=5):
        self.grace = grace
        self.procs = []
        self._guard = None
        self._hurry = False
        self._tstp = None

    def __enter__(self):
        try:
            if signal.getsignal(signal.SIGTSTP) is not signal.SIG_IGN:
                self._tstp = signal.signal(signal.SIGTSTP, self._suspend)
        except ValueError:                  # not the main thread: Ctrl-Z is not forwarded
            pass
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            if self._tstp is not None:
                signal.signal(signal.SIGTSTP, self._tstp)
                self._tstp = None

    def start(self, command, **popen):
        """Start ``command`` as a child (``subprocess.Popen``'s arguments; ``stdin`` is
        ``/dev/null`` unless given); returns its ``Popen``.  A stop signal that arrives while it
        starts is handled once it is recorded, so that no child is left out of :meth:`stop`."""
        if self._guard is None:
            self._spawn([sys.executable, '-S', '-c', _GUARD], guard=True, stdin=subprocess.PIPE,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        popen.setdefault('stdin', subprocess.DEVNULL)
        return self._spawn(command, **popen)

    def _spawn(self, command, guard=False, **popen):
        """Start a child (the guard with ``guard``) and record it, stop signals held back."""
        pending = []
        try:
            with stop_signals(lambda signum, frame: pending.append(signum)):
                proc = subprocess.Popen(command, preexec_fn=partial(
                    _child_setup, os.getpid(), not guard), **popen)
                if guard:
                    self._guard = proc
                else:
                    self.procs.append(proc)
                    self._tell(b'%d\n' % proc.pid)
        finally:
            if pending:
                signal.raise_signal(pending[0])     # now through the command's own handler
        return proc

    def _tell(self, line):
        """Give the guard ``line``; a guard killed leaves the children their death signal."""
        try:
            self._guard.stdin.write(line)
            self._guard.stdin.flush()
        except OSError:
            pass

    def ended(self, proc):
        """The exit status of ``proc`` (negative: killed by that signal), or ``None`` while it
        runs; an ended child is not reaped before :meth:`stop`, so that its process group
        keeps its number until then."""
        if proc.returncode is not None or not hasattr(os, 'waitid'):
            return proc.poll()
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return proc.poll()
        if info is None or info.si_pid == 0:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def wait(self, proc):
        """Wait for ``proc`` to end (a stop signal's handler may interrupt); its exit status."""
        if not hasattr(os, 'waitid'):
            return proc.wait()
        if proc.returncode is None:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        return self.ended(proc)

    def stop(self):
        """End every child and what it started: SIGTERM (and SIGCONT, for a stopped one) to
        each process group, SIGKILL to them after ``grace`` seconds or at once on a second
        SIGINT, SIGTERM or SIGHUP, then reap the children and let the guard go."""
        self._hurry = False
        with stop_signals(self._hurry_up):
            live = [p for p in self.procs if p.returncode is None]
            _signal_groups(live, signal.SIGTERM)
            _signal_groups(live, signal.SIGCONT)
            deadline = time.monotonic() + self.grace
            while (not self._hurry and time.monotonic() < deadline
                   and any(self.ended(p) is None for p in live)):
                time.sleep(0.05)
            _signal_groups(live, signal.SIGKILL)     # what the children started, too
            for proc in live:
                proc.wait()
            self._close_guard()

    def _hurry_up(self, signum, frame):
        self._hurry = True

    def _close_guard(self):
        if self._guard is None:
            return
        self._tell(b'done\n')
        guard, self._guard = self._guard, None
        try:
            guard.stdin.close()
        except OSError:
            pass
        try:
            guard.wait(timeout=5)
        except subprocess.TimeoutExpired:
            guard.kill()
            guard.wait()

    def _suspend(self, signum, frame):
        """Ctrl-Z: stop the children, then the command; continue them when it continues."""
        live = [p for p in self.procs if p.returncode is None]
        _signal_groups(live, signal.SIGSTOP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)          # stopped here until continued
        signal.signal(signal.SIGTSTP, self._suspend)
        _signal_groups(live, signal.SIGCONT)


def group_usage(groups):
    """``{group: (CPU time in clock ticks, the pid of a stopped process or None)}`` of the
    process groups ``groups``, summed over their processes as ``/proc`` shows them (state
    ``T``, stopped, or ``t``, stopped by a debugger); ``{}`` without ``/proc``."""
    found = {group: [0, None] for group in groups}
    try:
        entries = os.listdir('/proc')
    except OSError:
        return {}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry, 'rb') as f:
                fields = f.read().rsplit(b')', 1)[1].split()
            group = int(fields[2])
        except (OSError, IndexError, ValueError):
            continue
        if group in found:
            found[group][0] += int(fields[11]) + int(fields[12])
            if fields[0] in (b'T', b't') and (found[group][1] is None or int(entry) == group):
                found[group][1] = int(entry)
    return {group: tuple(value) for group, value in found.items()}
