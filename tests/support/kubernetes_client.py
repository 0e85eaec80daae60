"""Reading fastpod's API documents exactly as the official Kubernetes Python client reads an
API server's answers (``kubernetes`` 37 and later: a ``RESTResponse`` over urllib3's)."""

from __future__ import annotations

from typing import Any

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.rest import RESTResponse


def parse_as_the_client_does(body: bytes, model: str = "V1PodList") -> Any:
    """What ``CoreV1Api`` does with a 200 response whose body is ``body``."""
    raw = urllib3.HTTPResponse(
        body=body, status=200, headers={"Content-Type": "application/json"}, preload_content=True
    )
    response = RESTResponse(raw)
    response.read()
    return ApiClient().response_deserialize(response, {"200": model}).data
