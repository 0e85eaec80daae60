"""fastpod: Kubernetes static pods on a node, as the kubelet runs them, only faster."""

__version__ = "0.1.0"
