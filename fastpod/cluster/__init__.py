"""fastpod in a cluster: the Node, its Lease and its status, through the API server."""
