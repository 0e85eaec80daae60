"""Taking over the static pods another agent (the kubelet) left running: what runs is
compared with what fastpod would run (:mod:`~fastpod.takeover.compare`) and each pod is
adopted, replaced, removed or left alone (:mod:`~fastpod.takeover.plan`). Pure: the worker
(:mod:`fastpod.worker.takeover`) reads the runtime and carries the decisions out."""
