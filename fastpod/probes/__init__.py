"""Probes: liveness, readiness and startup, as the kubelet runs them.

``decisions`` is pure (which probe is due, what a result means for the container, when a
container counts as started and ready, what the grace leaves after preStop); the handler
modules beside it run one probe each, I/O at the edge.
"""
