"""A spare candidate: the next assertion session's candidate process, started while the worker
runs the current session (or waits for a job).

Once a session has taken the spare and forked its harness (and after the hello, and after a
reply when there is no spare) the supervisor asks the zygote for the next candidate as it would
at the start of a session: its output pipes and channel, its uid, a pod (``pods``: namespaces,
mounts and an init of its own, a directory emptied for it); all but the job's limits, which no
one knows yet. It does not wait for the answer. The candidate then waits in ``candidate.serve``
for its first frame. The next session that can use it (an assertion session of an untraced,
uncounted job, on a worker whose candidates are contained) sends it ``{"code": ..., "limits":
...}``: the candidate sets the limits on itself (``procs.settle``, its address space counted
from its size at the fork, as the pod measured it) before it reads the code, so the code runs as
it would in a candidate started for its job. The start (the pod's fork, and a new pod when the
other one is busy) so runs on a core the current session leaves idle, off the next session's
path; not off the CPU: its CPU time counts in the run's, as a fresh candidate's does. The zygote
and the pods never see a job, so a spare holds nothing of any job's. A spare found dead (a
sweep after another run's timeout kills every process of the candidates' uid, pods included)
is reaped and the session spawns a candidate as before. (A spare harness, forked after each
reply and sent its job, was measured too: it took nothing off a lone worker's latency, its
fork delaying the next job as much as it saved.)
Standard library only; runs inside the sandbox.
"""

import json
import os
import select
import socket
from typing import TYPE_CHECKING

if __package__:
    from codemend.sandbox.runtime import wire
else:  # inside the sandbox
    import wire  # type: ignore[import-not-found, no-redef]

if TYPE_CHECKING:
    from codemend.sandbox.runtime.supervisor import Supervisor


class Spare:
    """A spare candidate: the supervisor's ends of its pipes and channel, and, once the zygote
    has answered, its pid and pidfd (-1 until then)."""

    def __init__(self, channel: socket.socket, out_r: int, err_r: int) -> None:
        self.channel, self.out_r, self.err_r = channel, out_r, err_r
        self.pid = self.pidfd = -1


def prepare(sup: "Supervisor") -> Spare | None:
    """Ask the zygote for a spare (not waiting for its answer); None where spares are not used
    (candidates not contained) or the request could not be sent."""
    if not sup.contained:
        return None
    channel, c_end = socket.socketpair()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    null = os.open(os.devnull, os.O_RDWR)
    req = sup.request(wire.SERVE, None, "", count=False)  # in a pod (``wire.in_pod``), in its directory
    try:
        socket.send_fds(sup.zygote, [json.dumps(req).encode()], [null, out_w, err_w, c_end.fileno()])
        spare: Spare | None = Spare(channel, out_r, err_r)
    except OSError:  # the zygote is gone: the next spawn says so
        for fd in (out_r, err_r):
            os.close(fd)
        channel.close()
        spare = None
    for fd in (null, out_w, err_w):
        os.close(fd)
    c_end.close()
    return spare


def usable(sup: "Supervisor", spare: Spare, job: wire.Job) -> bool:
    """Whether ``spare`` can serve an assertion session of ``job``: untraced and uncounted
    (their candidates get other descriptors and another start), and alive, once the zygote's
    answer is in (read here if it is not yet). A dead one is forgotten (``discard``)."""
    if sup.tracing is not None or job.get("cost") == "instructions":
        return False
    while spare.pid < 0:
        sup.zygote_msg()
    return True


def alive(spare: Spare) -> bool:
    """Whether the spare's process is still running (its pidfd is not readable)."""
    return not select.select([spare.pidfd], [], [], 0)[0]


def discard(sup: "Supervisor", spare: Spare) -> None:
    """Close the supervisor's ends (a live spare reads the end of its channel and exits), wait
    for the zygote to report its end without charging its CPU time to the present run."""
    for fd in (spare.out_r, spare.err_r):
        os.close(fd)
    spare.channel.close()
    if spare.pidfd >= 0:
        os.close(spare.pidfd)
        sup.exit_status(spare.pid, charge=False)

