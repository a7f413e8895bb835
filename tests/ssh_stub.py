"""A stand-in for ``ssh`` that runs the remote command on this machine as sshd would run it on
another: ``ssh_stub.py [-o OPTION ...] HOST COMMAND...`` starts ``sh -c "COMMAND..."`` in a
session of its own (sshd's setsid), with its standard input relayed from this one's, and exits
with the command's status; when this process ends (killed with its job or its launcher) the
relayed input ends, as a closed ssh connection ends the remote session's.  Each call appends
``HOST`` to the file named by ``$SSH_STUB_LOG`` where set."""
import os
import subprocess
import sys
import threading


def _relay(source, sink):
    try:
        for chunk in iter(lambda: os.read(source, 4096), b''):
            sink.write(chunk)
            sink.flush()
    except OSError:
        pass
    finally:
        try:
            sink.close()
        except OSError:
            pass


def main(argv):
    while argv and argv[0].startswith('-'):
        argv = argv[2:] if argv[0] in ('-o', '-p', '-i', '-l') else argv[1:]
    host, command = argv[0], ' '.join(argv[1:])
    if os.environ.get('SSH_STUB_LOG'):
        with open(os.environ['SSH_STUB_LOG'], 'a') as f:
            f.write(host + '\n')
    remote = subprocess.Popen(['sh', '-c', command], stdin=subprocess.PIPE,
                              start_new_session=True)
    threading.Thread(target=_relay, args=(sys.stdin.fileno(), remote.stdin),
                     daemon=True).start()
    code = remote.wait()
    return code if code >= 0 else 128 - code


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
