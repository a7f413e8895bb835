"""The nodes of a parameter-server job on several machines, started over ssh as MXNet's dmlc
tracker starts them in its ssh mode (``dmlc_tracker/ssh.py``: ``ssh host 'export DMLC_...;
cd dir; cmd'``), with what the tracker lacks: the remote side ends the node's whole process
group when its ssh ends.

* A hosts file lists one machine a line, ``host`` or ``host:slots`` (how many workers it
  takes, default 1); blank lines and ``#`` comments are skipped.
* The scheduler runs on the first host; the servers one a host in turn from the first; the
  workers fill the hosts' slots in the file's order, and start again from the first host when
  there are more workers than slots.
* Each node is ``<ssh> <host> exec sh -c '<script>'``: the script exports MXNet's variables (and
  ``OMP_NUM_THREADS``, ``KMP_AFFINITY``, ``LD_LIBRARY_PATH``, ``PYTHONPATH`` and
  ``DMLC_INTERFACE`` where this machine sets them, as the tracker passes its list), changes to
  the job's folder, runs the node's command in the background and waits for it, while a
  watcher reads the standard input the launcher keeps open: at its end (the ssh process ended:
  the job stopped, or the launcher died) it sends SIGTERM to the process group of the remote
  command -- sshd starts each command in a session of its own --, and SIGKILL 5 s later.  A
  node that ends sends SIGTERM to what it left in its group.

Host keys are checked as ``ssh`` checks them (the tracker turns the check off): give
``--ssh 'ssh -o StrictHostKeyChecking=accept-new'`` for machines not yet known.
"""
import re
import shlex
import socket

__all__ = ['HostsError', 'read_hosts', 'placement', 'remote_script', 'remote_nodes',
           'FORWARDED']

FORWARDED = ('OMP_NUM_THREADS', 'KMP_AFFINITY', 'LD_LIBRARY_PATH', 'PYTHONPATH',
             'DMLC_INTERFACE')
MAX_SLOTS = 1024
_HOST = re.compile(r'^[A-Za-z0-9_.\-]+$')       # a name or an IPv4 address

# the remote side of a node (POSIX sh): the command in the background, its standard input the
# null device; a watcher (which ignores SIGTERM, so that it outlives the group's) on the
# standard input of the ssh session, which ends when the ssh process here ends; once the
# command ended, SIGTERM to what it left in the group (the script ignores it), as the launcher
# stops a local node's process group
_SCRIPT = '''export {env}
cd {folder} || exit 2
exec 3<&0
{{ trap '' TERM; while read -r _; do :; done; kill -TERM 0; sleep 5; kill -KILL 0; }} <&3 &
watcher=$!
{command} </dev/null &
node=$!
wait $node
code=$?
trap '' TERM
kill -TERM 0 2>/dev/null
kill -KILL $watcher 2>/dev/null
exit $code'''


class HostsError(ValueError):
    """A hosts file that cannot be used: one line saying why."""


def read_hosts(path):
    """``[(host, slots)]`` of the hosts file ``path`` (see the module's description)."""
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise HostsError('hosts file %s: %s' % (path, getattr(err, 'strerror', None) or
                                                 'not UTF-8 text'))
    hosts = []
    for number, line in enumerate(lines, 1):
        entry = line.split('#', 1)[0].strip()
        if not entry:
            continue
        host, _, slots = entry.rpartition(':') if ':' in entry else (entry, '', '1')
        if not _HOST.match(host or '-') or not slots.isdigit() or \
                not 1 <= int(slots) <= MAX_SLOTS:
            raise HostsError('hosts file %s, line %d: %r is not host or host:slots (slots '
                             'from 1 to %d)' % (path, number, entry, MAX_SLOTS))
        hosts.append((host, int(slots)))
    if not hosts:
        raise HostsError('hosts file %s lists no host (one host or host:slots a line)' % path)
    return hosts


def placement(hosts, num_workers, num_servers):
    """``[(node, host)]``: the scheduler, the servers and the workers (named ``'scheduler'``,
    ``'server i'``, ``'worker r'``) on the hosts of ``[(host, slots)]``."""
    names = [h for h, _ in hosts]
    slots = [h for h, n in hosts for _ in range(n)]
    return ([('scheduler', names[0])] +
            [('server %d' % i, names[i % len(names)]) for i in range(num_servers)] +
            [('worker %d' % r, slots[r % len(slots)]) for r in range(num_workers)])


def remote_script(env, folder, command):
    """The script a node runs on its machine (see the module's description): ``env`` exported,
    in ``folder``, ``command`` (a list) watched."""
    exports = ' '.join('%s=%s' % (k, shlex.quote(str(v))) for k, v in sorted(env.items()))
    return _SCRIPT.format(env=exports, folder=shlex.quote(folder),
                          command=' '.join(shlex.quote(c) for c in command))


def _address(host):
    """The IPv4 address of ``host`` as this machine resolves it."""
    try:
        return socket.gethostbyname(host)
    except (OSError, UnicodeError):
        raise HostsError('host %s: its address cannot be found from here' % host)


def remote_nodes(command, serve, hosts, num_workers, num_servers, ssh, folder, port, environ):
    """``[(node, argv)]``: the ssh command of each node of a job of ``command`` (the workers')
    and ``serve`` (the scheduler's and the servers'), placed by :func:`placement`, the
    scheduler listening on ``port`` of the first host; ``environ``: this machine's variables,
    of which those of :data:`FORWARDED` go along."""
    addresses = {h: _address(h) for h, _ in hosts}
    common = {'DMLC_PS_ROOT_URI': addresses[hosts[0][0]], 'DMLC_PS_ROOT_PORT': str(port),
              'DMLC_NUM_SERVER': str(num_servers), 'DMLC_NUM_WORKER': str(num_workers)}
    common.update((k, environ[k]) for k in FORWARDED if k in environ)
    if all(a.startswith('127.') for a in addresses.values()):
        common['DMLC_INTERFACE'] = 'lo'       # every node on this machine's loopback
    out = []
    for node, host in placement(hosts, num_workers, num_servers):
        env = dict(common, DMLC_ROLE=node.split()[0], DMLC_NODE_HOST=addresses[host])
        script = remote_script(env, folder, command if node.startswith('worker') else serve)
        # exec: the login shell becomes the script, the one process of the group not ended
        out.append(('%s on %s' % (node, host), list(ssh) + [host, 'exec sh -c ' +
                                                             shlex.quote(script)]))
    return out
