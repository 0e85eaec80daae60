"""Fault injection with figures: bounded scenarios that kill fastpod's processes, break its
inputs and its host under it, and check after each fault that nothing it runs was lost,
doubled or orphaned (``python -m bench.chaos``, ``make chaos``)."""
