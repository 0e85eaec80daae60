"""What one run of a probe handler found, in the kubelet's terms (pkg/probe)."""

from __future__ import annotations

from typing import Literal

import msgspec

Outcome = Literal["success", "failure", "unknown"]
"""The kubelet's probe.Success, probe.Failure and probe.Unknown.

``unknown`` is a probe that could not run (a port name not found, a response cut short): the
kubelet records an event and throws the result away.
"""


class ProbeResult(msgspec.Struct, frozen=True):
    """One probe's outcome and the kubelet's message for it.

    ``warning`` marks the kubelet's probe.Warning, a success that is still worth an event (a
    redirect the prober did not follow): its ``output`` is the event's message.
    """

    outcome: Outcome
    output: str
    warning: bool = False
