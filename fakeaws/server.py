"""A fake AWS on loopback for the demo, the tests and the benchmark: moto's server, wrapped.

moto answers ECR, STS and IAM. The wrapper adds what ecrpy's tests need and moto lacks:

- ECR tokens that expire 12 hours from now (moto's ``expiresAt`` is fixed in 2015);
- ECR Public's GetAuthorizationToken (moto has no ecr-public backend);
- a record of every request: service, operation, the access key that signed it, the registry
  ids asked for, so tests can assert "one token request" or "made with the role's keys";
- faults on demand: an AWS error code, an HTTP status, a delay, or a reply that is not JSON;
- an echo fault: an error whose message repeats the request (its headers, session token
  included, its body) and the secret key that signed it, when the fake knows it (the ones its
  AssumeRole* handed out, and any a test tells it about): what a proxy in the middle, or a
  careless future AWS error, could print back.
- sessions of any length: AssumeRole* and SSO's GetRoleCredentials hand out credentials that
  expire ``session_lifetime`` seconds from the fake's now (STS's own floor is 900 s), so tests
  can see a token die with its session;
- SSO's portal (``GetRoleCredentials``, reached through ``AWS_ENDPOINT_URL_SSO``): temporary
  keys for any bearer token, recorded like AssumeRole's;
- MFA as STS checks it: AssumeRole and GetSessionToken with a ``SerialNumber`` succeed only with
  the ``TokenCode`` registered for that device (:meth:`FakeAWS.add_mfa_device`).

It is reached only through the SDK's standard settings (``AWS_ENDPOINT_URL_ECR`` ...), never
through anything in the product. Control it in-process (:class:`FakeAWS`) or, when it runs as
another process (``python -m fakeaws serve``), over HTTP under ``/_fake/``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from email.utils import formatdate
from typing import Any, Callable
from urllib.parse import parse_qs
from xml.sax.saxutils import escape as xml_escape

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921."
ECR_PUBLIC_TARGET = "SpencerFrontendService."
TOKEN_LIFETIME = 12 * 3600
SSO_CREDENTIALS_PATH = "/federation/credentials"


@dataclass
class Request:
    service: str  # ecr, ecr-public, sts, iam, ... (from the SigV4 scope)
    operation: str
    access_key: str
    region: str
    registry_ids: list[str] = field(default_factory=list)
    role_arn: str = ""  # AssumeRole*: the role asked for
    serial_number: str = ""  # AssumeRole / GetSessionToken with MFA: the device ...
    token_code: str = ""  # ... and the code typed


@dataclass
class Fault:
    """What to do instead of answering. Matches when every given field matches."""

    operation: str | None = None
    access_key: str | None = None
    registry_id: str | None = None
    role_arn: str | None = None
    code: str | None = None  # AWS error code, e.g. AccessDeniedException
    status: int = 400
    message: str = "injected by fakeaws"
    delay: float = 0.0  # seconds to wait before answering (or before the fault)
    body: str | None = None  # a raw body to send instead (malformed replies)
    times: int | None = None  # how many requests it applies to; None: all
    echo: bool = False  # append the request and its signing secret to the message (with code)

    def matches(self, request: Request) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return (
            (self.operation is None or self.operation == request.operation)
            and (self.access_key is None or self.access_key == request.access_key)
            and (self.registry_id is None or self.registry_id in request.registry_ids)
            and (self.role_arn is None or self.role_arn == request.role_arn)
        )


def _sigv4_scope(authorization: str) -> tuple[str, str, str]:
    """(access key, region, service) from a SigV4 Authorization header."""
    marker = "Credential="
    start = authorization.find(marker)
    if start == -1:
        return "", "", ""
    credential = authorization[start + len(marker) :].split(",", 1)[0]
    parts = credential.split("/")
    if len(parts) < 4:
        return parts[0], "", ""
    return parts[0], parts[2], parts[3]


def describe(environ: dict[str, Any], body: bytes) -> Request:
    access_key, region, service = _sigv4_scope(environ.get("HTTP_AUTHORIZATION", ""))
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    registry_ids: list[str] = []
    if target:
        operation = target.rsplit(".", 1)[-1]
        try:
            payload = json.loads(body or b"{}")
            registry_ids = list(payload.get("registryIds") or [])
        except ValueError:
            pass
    else:
        form = parse_qs(body.decode("utf-8", "replace"))
        operation = (form.get("Action") or [""])[0]
        role_arn = (form.get("RoleArn") or [""])[0]
        serial = (form.get("SerialNumber") or [""])[0]
        code = (form.get("TokenCode") or [""])[0]
        return Request(service, operation, access_key, region, registry_ids, role_arn, serial, code)
    return Request(service, operation, access_key, region, registry_ids)


class FakeAWS:
    """The WSGI application: moto behind a layer that records, rewrites and injects faults."""

    def __init__(self, token_lifetime: float = TOKEN_LIFETIME, password: str | None = None) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.moto = DomainDispatcherApplication(create_backend_app)
        self.token_lifetime = self.initial_lifetime = token_lifetime
        self.password = password  # hand out this password instead of moto's "<account>-auth-token"
        self.clock_offset = 0.0  # seconds the fake's clock is ahead of the machine's (Date, expiry)
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.issued: dict[str, str] = {}  # access key handed out by AssumeRole* -> role ARN
        self.secrets: dict[str, str] = {}  # access key -> its secret, for echo faults
        self.session_tokens: dict[str, str] = {}  # access key handed out -> its session token
        self.mfa_codes: dict[str, str] = {}  # MFA device serial -> the code it shows now
        self.session_lifetime: float | None = None  # AssumeRole*, SSO: None is STS's default
        self.lock = threading.Lock()

    # -- control ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.issued.clear()
            self.secrets.clear()
            self.session_tokens.clear()
            self.mfa_codes.clear()
            self.token_lifetime = self.initial_lifetime
            self.password = None
            self.clock_offset = 0.0
            self.session_lifetime = None

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def add_mfa_device(self, serial: str, code: str) -> None:
        """An MFA device whose current code is ``code``: STS calls naming it need that code."""
        with self.lock:
            self.mfa_codes[serial] = code

    def _mfa_refused(self, request: Request) -> Fault | None:
        if not request.serial_number:
            return None
        with self.lock:
            expected = self.mfa_codes.get(request.serial_number)
        if expected is not None and request.token_code == expected:
            return None
        return Fault(
            code="AccessDenied",
            status=403,
            message="MultiFactorAuthentication failed with invalid MFA one time pass code.",
        )

    def role_of(self, access_key: str) -> str | None:
        """The role whose temporary credentials this access key is, if the fake issued it."""
        with self.lock:
            return self.issued.get(access_key)

    def count(self, operation: str, access_key: str | None = None) -> int:
        with self.lock:
            return sum(
                1
                for r in self.requests
                if r.operation == operation and (access_key is None or r.access_key == access_key)
            )

    # -- WSGI --------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_fake/"):
            return self._control(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        request = describe(environ, body)
        if path == SSO_CREDENTIALS_PATH:
            request = Request("sso", "GetRoleCredentials", "", "")
        with self.lock:
            self.requests.append(request)
            fault = next((f for f in self.faults if f.matches(request)), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
        fault = fault or self._mfa_refused(request)
        if fault is not None:
            time.sleep(fault.delay)
            if fault.echo:
                fault = replace(fault, message=self._echo(fault, request, environ, body))
            if fault.code or fault.body is not None:
                return self._fault(fault, environ, start_response)
        if request.service == "ecr-public" or environ.get("HTTP_X_AMZ_TARGET", "").startswith(
            ECR_PUBLIC_TARGET
        ):
            return self._ecr_public(request, start_response)
        if request.operation == "GetRoleCredentials":
            return self._sso_role_credentials(environ, start_response)
        environ["wsgi.input"] = _Body(body)
        if request.operation == "GetAuthorizationToken":
            return self._live_expiry(environ, start_response)
        if request.operation.startswith("AssumeRole"):
            return self._record_issue(request, environ, start_response)
        return self.moto(environ, start_response)  # type: ignore[no-any-return]

    def _echo(self, fault: Fault, request: Request, environ: dict[str, Any], body: bytes) -> str:
        headers = " ".join(
            f"{name[5:]}={value}"
            for name, value in sorted(environ.items())
            if name.startswith("HTTP_")
        )
        with self.lock:
            secret = self.secrets.get(request.access_key, "(unknown)")
        return (
            f"{fault.message}; you sent: {headers} body={body.decode('utf-8', 'replace')} "
            f"signed by {request.access_key} with secret {secret}"
        )

    def _record_issue(
        self, request: Request, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}
        body = b"".join(self.moto(environ, _capture_into(captured)))
        if self.session_lifetime is not None:
            body = _replace_element(body, b"Expiration", self._session_end().encode())
        key, secret = _element(body, b"AccessKeyId"), _element(body, b"SecretAccessKey")
        if key:
            with self.lock:
                self.issued[key] = request.role_arn
                self.secrets[key] = secret
                self.session_tokens[key] = _element(body, b"SessionToken")
        start_response(captured["status"], captured["headers"])
        return [body]

    def _session_end(self) -> str:
        """When a session handed out now ends, in STS's ISO 8601 form, by the fake's clock."""
        lifetime = 3600.0 if self.session_lifetime is None else self.session_lifetime
        ends = time.time() + self.clock_offset + lifetime
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ends))

    def _sso_role_credentials(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """SSO's GetRoleCredentials: new temporary keys of the role for any bearer token (which
        the fake cannot see: werkzeug drops ``x-amz-sso_bearer_token``, an underscore header)."""
        form = parse_qs(environ.get("QUERY_STRING", ""))
        role = f"arn:aws:iam::{form['account_id'][0]}:role/{form['role_name'][0]}"
        key = "ASIASSO" + secrets.token_hex(6).upper()
        secret, token = secrets.token_urlsafe(30), secrets.token_urlsafe(60)
        with self.lock:
            self.issued[key], self.secrets[key], self.session_tokens[key] = role, secret, token
        lifetime = 3600.0 if self.session_lifetime is None else self.session_lifetime
        expiration = int((time.time() + self.clock_offset + lifetime) * 1000)
        credentials = {"accessKeyId": key, "secretAccessKey": secret, "sessionToken": token}
        reply = {"roleCredentials": {**credentials, "expiration": expiration}}
        return self._json(start_response, reply)

    def _fault(
        self, fault: Fault, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        if fault.body is not None:
            payload = fault.body.encode()
        elif environ.get("HTTP_X_AMZ_TARGET"):
            payload = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        else:  # query protocol (STS, IAM): XML
            payload = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{fault.code}</Code><Message>{xml_escape(fault.message)}</Message>"
                "</Error><RequestId>fake</RequestId></ErrorResponse>"
            ).encode()
        content_type = (
            "application/x-amz-json-1.1" if environ.get("HTTP_X_AMZ_TARGET") else "text/xml"
        )
        start_response(
            f"{fault.status} Fault",
            [("Content-Type", content_type), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _live_expiry(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        captured: dict[str, Any] = {}
        body = b"".join(self.moto(environ, _capture_into(captured)))
        now = time.time() + self.clock_offset
        if captured["status"].startswith("200"):
            reply = json.loads(body)
            for data in reply.get("authorizationData", []):
                data["expiresAt"] = now + self.token_lifetime
                if self.password is not None:
                    token = f"AWS:{self.password}".encode()
                    data["authorizationToken"] = base64.b64encode(token).decode()
            body = json.dumps(reply).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _ecr_public(self, request: Request, start_response: Callable[..., Any]) -> list[bytes]:
        password = self.password or f"public-{request.access_key}-auth-token"
        token = base64.b64encode(f"AWS:{password}".encode())
        reply = {
            "authorizationData": {
                "authorizationToken": token.decode(),
                "expiresAt": time.time() + self.clock_offset + self.token_lifetime,
            }
        }
        return self._json(start_response, reply)

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if path == "/_fake/requests":
            with self.lock:
                return self._json(start_response, [asdict(r) for r in self.requests])
        if path == "/_fake/reset":
            self.reset()
            return self._json(start_response, {"ok": True})
        if path == "/_fake/faults":
            self.add_fault(Fault(**json.loads(body or b"{}")))
            return self._json(start_response, {"ok": True})
        if path == "/_fake/mfa":
            device = json.loads(body or b"{}")
            self.add_mfa_device(device["serial"], device["code"])
            return self._json(start_response, {"ok": True})
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"unknown control path"]

    @staticmethod
    def _json(start_response: Callable[..., Any], payload: Any) -> list[bytes]:
        data = json.dumps(payload).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))],
        )
        return [data]


def _element(body: bytes, name: bytes) -> str:
    """The text of the first ``<name>`` element of an XML reply, or ""."""
    start = body.find(b"<" + name + b">")
    if start == -1:
        return ""
    start += len(name) + 2
    return body[start : body.find(b"<", start)].decode()


def _replace_element(body: bytes, name: bytes, text: bytes) -> bytes:
    """An XML reply with the text of its first ``<name>`` element replaced."""
    start = body.find(b"<" + name + b">")
    if start == -1:
        return body
    start += len(name) + 2
    return body[:start] + text + body[body.find(b"<", start) :]


def _capture_into(captured: dict[str, Any]) -> Callable[..., None]:
    """A start_response that keeps status and headers, for replies the wrapper rewrites."""

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"], captured["headers"] = status, headers

    return capture


class _Body:
    """A re-readable wsgi.input after the wrapper has consumed the original."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size is None or size < 0 else self.pos + size
        chunk, self.pos = self.data[self.pos : end], min(end, len(self.data))
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _handler_for(app: FakeAWS) -> type[Any]:
    """A request handler whose ``Date`` header follows the fake's clock, like AWS's own."""
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def date_time_string(self, timestamp: float | None = None) -> str:
            return formatdate((timestamp or time.time()) + app.clock_offset, usegmt=True)

    return Handler


class Server:
    """FakeAWS served on a loopback port in a background thread (HTTP, or HTTPS with a cert)."""

    def __init__(
        self,
        app: FakeAWS | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> None:
        import logging

        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the console
        self.app = app or FakeAWS()
        ssl_context = (certfile, keyfile) if certfile and keyfile else None
        self.httpd = make_server(
            host,
            port,
            self.app,
            threaded=True,
            ssl_context=ssl_context,
            request_handler=_handler_for(self.app),
        )
        self.scheme = "https" if ssl_context else "http"
        self.host, self.port = host, self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        """The standard SDK settings that point ecrpy (or any AWS SDK) at this fake."""
        return {
            "AWS_ENDPOINT_URL_ECR": self.url,
            "AWS_ENDPOINT_URL_ECR_PUBLIC": self.url,
            "AWS_ENDPOINT_URL_STS": self.url,
            "AWS_ENDPOINT_URL_IAM": self.url,
            "AWS_ENDPOINT_URL_SSO": self.url,
        }
