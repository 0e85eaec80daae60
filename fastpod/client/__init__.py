"""The commands that talk to a running fastpod through its read-only API."""
