"""A fake EC2 instance metadata service (IMDSv2) on loopback, with one instance role.

botocore finds it through the standard ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` setting, exactly
as it finds the real one at 169.254.169.254: no keys in the environment, no files.
"""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLE = "ecrpy-instance-role"
ACCESS_KEY = "ASIAINSTANCEROLE0001"
TOKEN_PATH = "/latest/api/token"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


class _Handler(BaseHTTPRequestHandler):
    server: InstanceMetadata  # type: ignore[assignment]

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
        if self.path == TOKEN_PATH:
            self.server.count("token")
            self._send(200, "fake-imds-session-token")
        else:
            self._send(404, "")

    def do_GET(self) -> None:
        if self.headers.get("X-aws-ec2-metadata-token") != "fake-imds-session-token":
            self._send(401, "")
            return
        if self.path == CREDS_PATH:
            self._send(200, ROLE)
        elif self.path == CREDS_PATH + ROLE:
            self.server.count("credentials")
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6)
            body = {
                "Code": "Success",
                "Type": "AWS-HMAC",
                "AccessKeyId": ACCESS_KEY,
                "SecretAccessKey": "instance-role-secret",
                "Token": "instance-role-session-token",
                "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            }
            self._send(200, json.dumps(body), "application/json")
        else:
            self._send(404, "")


class InstanceMetadata(ThreadingHTTPServer):
    """Serve in a background thread; ``requests`` counts token and credential fetches."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: dict[str, int] = {"token": 0, "credentials": 0}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def count(self, what: str) -> None:
        with self._lock:
            self.requests[what] += 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def __enter__(self) -> InstanceMetadata:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
