"""Pod status: what the kubelet reports for a pod, computed from what the runtime runs."""
