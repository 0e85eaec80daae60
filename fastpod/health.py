"""PURE: fastpod's health checks and ``/healthz``'s answer, as ``k8s.io/apiserver``'s healthz
handler gives it (``pkg/server/healthz/healthz.go`` ``handleRootHealth``).

The kubelet installs that handler on its health port and its read-only port; fastpod answers
both alike. Each check has a name; ``/healthz`` is ``ok`` when every check passes, else 500
with one ``[+]name ok`` or ``[-]name failed: reason`` line per check and ``healthz check
failed``. The kubelet's lines say ``reason withheld`` (its authenticated port must not leak
them); fastpod says the reason, as its health port listens on loopback and its read-only
port is unauthenticated anyway. ``?verbose`` lists the lines when healthy too, ``?exclude=``
skips a check, and ``/healthz/<name>`` asks one check (``ok``, or 500 ``internal server
error: reason``).
"""

from __future__ import annotations

import msgspec

PING, SYNC_LOOP, RUNTIME, POD_LOOPS = "ping", "syncloop", "runtime", "podloops"
CHECKS = (PING, SYNC_LOOP, RUNTIME, POD_LOOPS)
"""What ``/healthz`` checks: ``ping`` (the server answers, the kubelet's first check),
``syncloop`` (every process runs and answers within 2 s: the kubelet's check that its sync
loop is not stuck), ``runtime`` (every worker's runtime answers its ping), ``podloops`` (no
pod's sync loop ended on an error while the pod is still wanted)."""


class HealthProblem(msgspec.Struct, frozen=True, array_like=True):
    """One failed check and why, from the process that found it."""

    check: str
    reason: str


def healthz_answer(
    problems: list[HealthProblem], *, verbose: bool = False, excluded: frozenset[str] = frozenset()
) -> tuple[int, str]:
    """The status and body of ``GET /healthz``, every check but ``excluded`` counted."""
    reasons: dict[str, list[str]] = {}
    for problem in problems:
        reasons.setdefault(problem.check, []).append(problem.reason)
    lines, failed = [], False
    for check in CHECKS:
        if check in excluded:
            lines.append(f"[+]{check} excluded: ok\n")
        elif check in reasons:
            lines.append(f"[-]{check} failed: {'; '.join(reasons[check])}\n")
            failed = True
        else:
            lines.append(f"[+]{check} ok\n")
    unknown = sorted(excluded - set(CHECKS))
    if unknown:
        quoted = ",".join(f'"{name}"' for name in unknown)
        lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}\n")
    if failed:
        return 500, "".join(lines) + "healthz check failed\n"
    if not verbose:
        return 200, "ok"
    return 200, "".join(lines) + "healthz check passed\n"


def check_answer(check: str, problems: list[HealthProblem]) -> tuple[int, str]:
    """The status and body of ``GET /healthz/<check>``."""
    reasons = [problem.reason for problem in problems if problem.check == check]
    if reasons:
        return 500, f"internal server error: {'; '.join(reasons)}\n"
    return 200, "ok"
