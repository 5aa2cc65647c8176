"""One TensorFlow import per worker: a process that imports TensorFlow and forks every executor from it.

A fresh executor (the first, one replacing an executor that served RECYCLE_MODELS models, one after a crash
or a timeout) used to be a new interpreter importing TensorFlow: ~4 s of tf2.21 each (measured: a fresh
executor for each of the zoo's 23 models took 88 s more than one executor for all). Forked from a process
that has imported TensorFlow but never run an op (no eager context, no thread pools), an executor is ready
in ~15 ms, device probe included.

Worker side (plain Python): ``ForkServer``. Process side: ``python -m conformance.runtime.forkserver``, its
stdin a Unix socket to the worker, serving:

- the setup -> ``("ready", pid)`` once TensorFlow and the probes are imported, in the runtime's mode;
- ``("fork", kind)`` with three descriptors attached (requests in, replies out, stderr) -> ``("forked", pid)``:
  the child serves on them as an executor (``executor.serve_forked``) or, kind ``cluster``, as the
  parameter-server cases' process (``cluster.serve_forked``: graph mode, a process group of its own);
- ``("reap", pid)`` -> ``("reaped", returncode)``, negative when a signal ended the child (as subprocess).

Children are reaped on request only, so an exit status waits for the worker to ask; their CPU time adds to
this process's children, which the worker waits for. A child gets SIGKILL when this process dies, and this
process when its worker dies.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from multiprocessing import reduction
from typing import Any, Dict, List, Mapping, Optional

from conformance.runtime import channel
from conformance.runtime.child_process import HarnessError, StderrFile, set_death_signal, stderr_evidence

REPLY_TIMEOUT = 30.0  # seconds for a fork or a reap (a child killed with SIGKILL ends at once)


KINDS = ("executor", "cluster")


class ForkedProcess(object):
    """A child of the fork server: its pid, the worker's ends of its request and reply pipes, its stderr."""

    def __init__(self, server: "ForkServer", pid: int, requests: int, replies: int, stderr: StderrFile,
                 own_group: bool = False, inner_pid: Optional[int] = None):
        self.server, self.pid, self.requests, self.replies, self.stderr = server, pid, requests, replies, stderr
        self.inner_pid = pid if inner_pid is None else inner_pid  # its pid in the sandbox's pid namespace
        self.own_group = own_group  # it leads a process group of its own, killed with it
        self.returncode = None  # type: Optional[int]
        self._reaped = False

    def kill(self) -> Optional[int]:
        """SIGKILL (harmless if it has ended already), then its exit status, or None if that cannot be had."""
        if not self._reaped:
            if self.server.alive():  # then the pid is still its unreaped child (a zombie at worst), not reused
                if self.own_group:
                    try:
                        os.killpg(self.pid, signal.SIGKILL)
                    except OSError:  # not yet its group's leader (killed right after the fork)
                        pass
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
            self._reap()
        return self.returncode

    def close(self) -> None:
        """Close its pipes (a waiting executor then ends by itself) and reap it; kill it if it does not end."""
        for fd in (self.requests, self.replies):
            try:
                os.close(fd)
            except OSError:
                pass
        if not self._reaped:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive_unreaped(self.pid):
                time.sleep(0.01)
            self.kill()
        self.stderr.close()

    def _reap(self) -> None:
        self._reaped = True
        self.returncode = self.server.reap(self.inner_pid)


def _status_field(pid: int, name: str) -> List[str]:
    try:
        with open("/proc/%d/status" % pid) as stream:
            for line in stream:
                if line.startswith(name + ":"):
                    return line.split()[1:]
    except OSError:
        pass
    return []


def _namespaced_pid(pid: int) -> Optional[int]:
    """The pid of a process in its innermost pid namespace (None where it is in ours only)."""
    pids = _status_field(pid, "NSpid")
    return int(pids[-1]) if len(pids) >= 2 else None


def _parent(pid: int) -> int:
    found = _status_field(pid, "PPid")
    return int(found[0]) if found else 0


def _alive_unreaped(pid: int) -> bool:
    """Whether a child of another process is still running (not a zombie), read from /proc."""
    try:
        with open("/proc/%d/stat" % pid) as stream:
            return stream.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


class ForkServer(object):
    """The worker's fork server: started once (a TensorFlow import), then a fork per executor."""

    def __init__(self, setup: Dict[str, Any], env: Mapping[str, str], start_timeout: float, sandbox: Any = None):
        self.stderr = StderrFile()
        self._stderr_at_close = None  # type: Optional[str]
        self._socket, theirs = socket.socketpair()
        self.sandboxed = sandbox is not None and sandbox.in_force  # then its children's pids are the sandbox's
        command = [sys.executable, "-m", "conformance.runtime.forkserver"]
        try:
            self.process = subprocess.Popen(
                sandbox.command(command) if self.sandboxed else command, stdin=theirs.fileno(),
                stdout=self.stderr, stderr=self.stderr, env=dict(env), preexec_fn=set_death_signal, close_fds=True)
        finally:
            theirs.close()
        self.runtime = setup["runtime"]
        self.pid = self.process.pid
        try:
            channel.send(self._socket.fileno(), setup)
            kind, value = channel.receive(self._socket.fileno(), time.monotonic() + start_timeout)
        except (channel.ChannelClosed, channel.DeadlineExceeded, OSError) as problem:
            why = ("did not import TensorFlow within %ds" % start_timeout
                   if isinstance(problem, channel.DeadlineExceeded) else "died while importing TensorFlow")
            evidence = self._closed_with_evidence()
            raise HarnessError("the fork server of runtime %s %s: %s" % (self.runtime, why, evidence))
        except BaseException:  # interrupted while it imports: it must not outlive us
            self.close()
            raise
        if kind != "ready":
            self.close()
            raise HarnessError("the fork server of runtime %s failed to start: %s" % (self.runtime, value))

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, kind: str = "executor") -> ForkedProcess:
        """A new child, serving as an executor (or the cluster process) on fresh pipes and its own stderr file."""
        if kind not in KINDS:
            raise ValueError("a fork server forks one of %s, not %r" % (", ".join(KINDS), kind))
        stderr = StderrFile()
        requests_in, requests = os.pipe()
        replies, replies_out = os.pipe()
        try:
            channel.send(self._socket.fileno(), ("fork", kind))
            reduction.sendfds(self._socket, [requests_in, replies_out, stderr.fileno()])
            kind, pid = self._reply()
            host_pid = self._host_pid(pid)
        except BaseException:
            for fd in (requests, replies):
                os.close(fd)
            stderr.close()
            raise
        finally:
            os.close(requests_in)
            os.close(replies_out)
        return ForkedProcess(self, host_pid, requests, replies, stderr, own_group=kind == "cluster", inner_pid=pid)

    def _host_pid(self, pid: int) -> int:
        """A child's pid as this process sees it: inside the sandbox's own pid namespace it has another one
        (its ``NSpid``), found among the descendants of the sandbox's process."""
        if not self.sandboxed:
            return pid
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _namespaced_pid(int(entry)) == pid and self._descends(int(entry)):
                return int(entry)
        raise HarnessError("the fork server of runtime %s forked pid %d in its sandbox, but no such process is "
                           "seen outside it" % (self.runtime, pid))

    def _descends(self, pid: int) -> bool:
        for _ in range(8):
            pid = _parent(pid)
            if pid == self.process.pid:
                return True
            if pid <= 1:
                return False
        return False

    def reap(self, pid: int) -> Optional[int]:
        """The exit status of a child (waiting for it to end), or None if the fork server cannot tell."""
        try:
            channel.send(self._socket.fileno(), ("reap", pid))
            kind, returncode = self._reply()
        except (HarnessError, OSError):
            return None
        return returncode

    def _reply(self):
        try:
            kind, value = channel.receive(self._socket.fileno(), time.monotonic() + REPLY_TIMEOUT)
        except (channel.ChannelClosed, channel.DeadlineExceeded) as problem:
            why = "stopped answering" if isinstance(problem, channel.DeadlineExceeded) else "died"
            raise HarnessError("the fork server of runtime %s %s: %s"
                               % (self.runtime, why, self._closed_with_evidence()))
        if kind == "harness-error":
            raise HarnessError("the fork server of runtime %s: %s" % (self.runtime, value))
        return kind, value

    def _closed_with_evidence(self) -> str:
        self.close()
        return stderr_evidence(self.stderr_tail())

    def stderr_tail(self) -> str:
        """The last of its stderr, also once it is closed."""
        return self._stderr_at_close if self._stderr_at_close is not None else self.stderr.tail()

    def close(self) -> None:
        """End it (it ends when its socket closes; its children get SIGKILL) and wait for it."""
        self._socket.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._stderr_at_close is None:
            self._stderr_at_close = self.stderr.tail()
            self.stderr.close()


# ---------------------------------------------------------------------------------------------- process side
def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _serve(server: socket.socket) -> None:
    fd = server.fileno()
    setup = channel.receive(fd)
    from conformance.runtime import executor

    executor.preload(setup)
    channel.send(fd, ("ready", os.getpid()))
    while True:
        try:
            request = channel.receive(fd)
        except channel.ChannelClosed:
            return
        if request[0] == "fork":
            descriptors = reduction.recvfds(server, 3)
            pid = os.fork()
            if pid == 0:
                server.close()
                if request[1] == "cluster":
                    from conformance.runtime import cluster

                    os._exit(cluster.serve_forked(*descriptors, parent=os.getppid()))
                os._exit(executor.serve_forked(*descriptors, parent=os.getppid()))
            for descriptor in descriptors:
                os.close(descriptor)
            channel.send(fd, ("forked", pid))
        elif request[0] == "reap":
            try:
                _, status = os.waitpid(request[1], 0)
                returncode = _returncode(status)  # type: Optional[int]
            except ChildProcessError:
                returncode = None
            channel.send(fd, ("reaped", returncode))
        else:
            channel.send(fd, ("harness-error", "unknown fork server request %r" % (request,)))


def main() -> int:
    server = socket.socket(fileno=os.dup(0))
    os.close(0)
    sys.stdout = sys.stderr
    try:
        _serve(server)
    except channel.ChannelClosed:
        return 0
    except Exception:  # noqa: BLE001 - a failed import is told to the worker, then we exit
        import traceback

        try:
            channel.send(server.fileno(), ("harness-error", traceback.format_exc()[-20000:]))
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # no interpreter teardown of TensorFlow (see executor.py)
