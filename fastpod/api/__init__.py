"""The read-only HTTP API: ``/pods``, ``/healthz``, ``/metrics``, container logs, inspection."""
