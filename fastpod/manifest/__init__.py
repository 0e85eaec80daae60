"""Manifests: bytes → Pod, exactly as the kubelet decodes, defaults and validates them.

Empty on purpose: the pure core imports :mod:`fastpod.manifest.quantity` and must not load
PyYAML and the loader with it. Import from the defining modules.
"""
