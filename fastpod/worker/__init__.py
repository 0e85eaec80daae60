"""The worker processes: manifests → pod claims → the desired pods of a shard → the runtime."""
