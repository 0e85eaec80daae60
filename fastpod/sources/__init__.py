"""Where manifests come from: the manifest directory (or file) and the manifest URL."""
