"""The credential endpoints of AWS compute, on loopback, handing out a role's real (fake) keys.

One server answers both:

- the EC2 instance metadata service (IMDSv2: a session token, then the instance profile's role
  and its credentials), which botocore finds through ``AWS_EC2_METADATA_SERVICE_ENDPOINT``;
- the container credential endpoint of ECS tasks, CodeBuild and EKS Pod Identity, which botocore
  finds through ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (and the bearer token in
  ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``).

The keys it serves are whatever :meth:`CredentialEndpoints.serve` was given: the documentation
tests give it the result of an ``AssumeRole`` against the fake STS, so that the caller identity
the docs show is a role's (``arn:aws:sts::...:assumed-role/<role>/<session>``); the role tests
give it fixed keys and check that the ECR request was signed with them.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

IMDS_TOKEN = "fake-imds-session-token"
CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"
CONTAINER_PATH = "/v1/credentials"


class _Handler(BaseHTTPRequestHandler):
    server: CredentialEndpoints

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: str, content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        if self.path == "/latest/api/token":
            self._send(200, IMDS_TOKEN)
        else:
            self._send(404, "")

    def do_GET(self) -> None:
        server = self.server
        server.count(self.path)
        creds = server.credentials
        if creds is None:
            self._send(404, "")
        elif self.path.startswith(CONTAINER_PATH):
            if self.headers.get("Authorization") != server.authorization:
                self._send(401, "")
                return
            body = {
                "AccessKeyId": creds["AccessKeyId"],
                "SecretAccessKey": creds["SecretAccessKey"],
                "Token": creds["SessionToken"],
                "Expiration": creds["Expiration"],
                "RoleArn": server.role_arn,
            }
            self._send(200, json.dumps(body), "application/json")
        elif self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
            self._send(401, "")
        elif self.path == CREDENTIALS_PATH:
            self._send(200, server.role_arn.rsplit("/", 1)[-1])
        elif self.path.startswith(CREDENTIALS_PATH):
            body = {
                "Code": "Success",
                "Type": "AWS-HMAC",
                "AccessKeyId": creds["AccessKeyId"],
                "SecretAccessKey": creds["SecretAccessKey"],
                "Token": creds["SessionToken"],
                "Expiration": creds["Expiration"],
                "LastUpdated": creds["Expiration"],
            }
            self._send(200, json.dumps(body), "application/json")
        else:
            self._send(404, "")


class CredentialEndpoints(ThreadingHTTPServer):
    """Serve in a background thread; ``requests`` counts GETs per path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.credentials: dict[str, Any] | None = None
        self.role_arn = ""
        self.authorization = ""
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def count(self, path: str) -> None:
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1

    def serve(self, role_arn: str, credentials: dict[str, Any], authorization: str = "") -> None:
        """Hand out these credentials (``AssumeRole``'s ``Credentials``) as ``role_arn``'s."""
        self.role_arn = role_arn
        self.credentials = credentials
        self.authorization = authorization
        with self._lock:
            self.requests.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> CredentialEndpoints:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
