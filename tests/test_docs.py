"""The documentation, run: every shell block of docs/*.md marked for testing, against the fake AWS.

docs/README.md ("How the commands on these pages are tested") is the writers' reference for the
marks. In short: a block opened with ```` ```sh test ```` runs under ``bash -c 'set -euo pipefail;
...'``, one test per block, named ``<page>:<line>``; a page's marked blocks run in order in one
sandbox (a temporary ``HOME``, ecrpy first on ``PATH``, the fake AWS of tests/conftest.py behind
the SDK's ``AWS_ENDPOINT_URL_*`` settings) until a block marked ``fresh``; ``<lang> test
file=<path>`` blocks are written into the sandbox; a ```` ```text output ```` block right after a
marked block is what it must print (``...`` matches anything, and what differs between machines is
normalised on both sides); ``exit=``, ``world=``, ``role=``, ``fault=``, ``clock=``, ``home=`` and
``bin=`` options set up the rest.

Blocks that need a Docker daemon, real AWS or the network are not marked. What can be checked
without running them is checked here too: every ``docker-credential-ecrpy`` command line in an
unmarked block or in the prose's inline code parses, JSON and YAML blocks parse, TOML blocks are
valid ecrpy settings files, relative links resolve, docs/README.md links every page, and
troubleshooting.md quotes every message the code prints.
"""

from __future__ import annotations

import ast
import datetime
import difflib
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from credential_helper import __version__
from fakeaws.imds import CredentialEndpoints
from fakeaws.server import FakeAWS, Fault, Server

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = ROOT / "credential_helper"
BIN = Path(sys.executable).parent  # the venv's bin: docker-credential-ecrpy is installed here
READER_HOME = "/home/me"  # the sandbox HOME, as the pages show it (``home=`` changes it)
ACCOUNT = "123456789012"
READER = "me"  # the IAM user whose keys the default world uses
SHELLS = frozenset({"sh", "bash", "shell"})
FLAGS = frozenset({"test", "output", "fresh"})
OPTIONS = frozenset({"exit", "world", "role", "fault", "clock", "file", "home", "bin", "clone"})
WORLDS = frozenset({"keys", "session-keys", "none", "instance-role", "web-identity", "container"})
FAULTS = frozenset({"denied", "invalid-token", "assume-denied"})
DEFAULT_ROLE = "ecr-push"
SESSION_NAMES = {
    "session-keys": "GitHubActions",
    "instance-role": "i-0123456789abcdef0",
    "container": "ecs-task",
}
CROSS_ACCOUNT_ROLE = "arn:aws:iam::210987654321:role/ecr-push"
CONTAINER_TOKEN = "docs-container-authorization-token"
WEB_IDENTITY_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkb2NzIn0.c2lnbmF0dXJl"


# -- reading the pages ------------------------------------------------------------------------

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: str
    line: int  # of the opening fence, 1-based
    info: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def lang(self) -> str:
        words = self.info.split()
        return words[0] if words else ""

    @property
    def flags(self) -> set[str]:
        return {word for word in self.info.split()[1:] if "=" not in word}

    @property
    def options(self) -> dict[str, str]:
        pairs = (word.split("=", 1) for word in self.info.split()[1:] if "=" in word)
        return {key: value for key, value in pairs}

    @property
    def runs(self) -> bool:
        return "test" in self.flags and self.lang in SHELLS

    @property
    def writes(self) -> bool:
        return "test" in self.flags and "file" in self.options


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, in order (CommonMark fences, not indented code)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            number += 1
            continue
        fence, indent, start = opening["fence"], len(opening["indent"]), number
        body: list[str] = []
        number += 1
        while number < len(lines):
            closing = FENCE.match(lines[number])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            line = lines[number]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            number += 1
        text = "\n".join(body) + "\n" if body else ""
        found.append(Block(path.name, start + 1, opening["info"].strip(), text))
        number += 1
    return found


@dataclass
class Step:
    """A marked block of a page: a shell block to run (with its expected output) or a file."""

    block: Block
    expected: Block | None = None


def page_steps(path: Path) -> list[Step]:
    steps: list[Step] = []
    previous: Block | None = None
    for block in read_blocks(path):
        if "output" in block.flags and previous is not None and previous.runs:
            steps[-1].expected = block
        elif block.runs or block.writes:
            steps.append(Step(block))
        previous = block
    return steps


def prose(path: Path) -> list[str]:
    """The lines of a page outside its fenced blocks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    inside = {
        number
        for block in read_blocks(path)
        for number in range(block.line - 1, block.line + block.text.count("\n") + 1)
    }
    return [line for number, line in enumerate(lines) if number not in inside]


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


STEPS: dict[str, list[Step]] = {page.name: page_steps(page) for page in pages()}
RUNNABLE = [
    (name, index)
    for name, steps in STEPS.items()
    for index, step in enumerate(steps)
    if step.block.runs
]


# -- the world a block runs in ------------------------------------------------------------------


@pytest.fixture(scope="session")
def reader_keys(fake_server: Server) -> dict[str, str]:
    """Access keys of the IAM user ``me`` in the fake account, so callers look like real users."""
    iam = _client(
        fake_server, "iam", {"AWS_ACCESS_KEY_ID": "AKIADOCSSETUP", "AWS_SECRET_ACCESS_KEY": "x"}
    )
    try:
        iam.create_user(UserName=READER)
    except iam.exceptions.EntityAlreadyExistsException:
        for key in iam.list_access_keys(UserName=READER)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=READER, AccessKeyId=key["AccessKeyId"])
    key = iam.create_access_key(UserName=READER)["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


@pytest.fixture(scope="session")
def endpoints() -> Iterator[CredentialEndpoints]:
    with CredentialEndpoints() as server:
        yield server


def _client(server: Server, service: str, keys: dict[str, str]) -> Any:
    import botocore.session

    return botocore.session.Session().create_client(
        service,
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass
class World:
    """Everything a block's environment is made of."""

    env: dict[str, str]  # the conftest ``env``: endpoints of the fake AWS, no machine settings
    fake: FakeAWS
    server: Server
    endpoints: CredentialEndpoints
    keys: dict[str, str]

    def environment(self, block: Block, root: Path, home: Path) -> dict[str, str]:
        """The environment of one block; also sets the fake's faults and clock for it."""
        options = block.options
        world = options.get("world", "keys")
        role = f"arn:aws:iam::{ACCOUNT}:role/{options.get('role', DEFAULT_ROLE)}"
        env = {key: value for key, value in self.env.items() if key not in self.keys}
        env.update(
            {
                "HOME": str(home),
                "DOCKER_CONFIG": str(home / ".docker"),
                # what ``pipx install`` put in ~/.local/bin wins, as on a reader's machine
                "PATH": f"{home}/.local/bin:{BIN}:/usr/bin:/bin",
                # a reader's pip has a cache; the sandbox borrows this machine's
                "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip"),
                "LANG": "C.UTF-8",
            }
        )
        caller = f"arn:aws:iam::{ACCOUNT}:user/{READER}"
        if world == "keys":
            env.update(self.keys)
        elif world == "session-keys":
            keys = self._assume(role, SESSION_NAMES[world])
            env["AWS_ACCESS_KEY_ID"] = keys["AccessKeyId"]
            env["AWS_SECRET_ACCESS_KEY"] = keys["SecretAccessKey"]
            env["AWS_SESSION_TOKEN"] = keys["SessionToken"]
        elif world == "instance-role":
            env.pop("AWS_EC2_METADATA_DISABLED", None)
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.endpoints.url + "/"
            self.endpoints.serve(role, self._assume(role, SESSION_NAMES[world]))
        elif world == "container":
            token_file = root / "eks-pod-identity-token"
            token_file.write_text(CONTAINER_TOKEN)
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = self.endpoints.url + "/v1/credentials"
            env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(token_file)
            credentials = self._assume(role, SESSION_NAMES[world])
            self.endpoints.serve(role, credentials, CONTAINER_TOKEN)
        elif world == "web-identity":
            token_file = root / "web-identity-token"
            token_file.write_text(WEB_IDENTITY_TOKEN)
            env["AWS_ROLE_ARN"] = role
            env["AWS_WEB_IDENTITY_TOKEN_FILE"] = str(token_file)
        if world not in ("keys", "none"):
            session = SESSION_NAMES.get(world, "botocore-session-...")
            caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[-1]}/{session}"
        self.fake.reset()
        self._fault(options.get("fault"), caller)
        if "clock" in options:
            self.fake.clock_offset = float(options["clock"])
        return env

    def _assume(self, role: str, session: str) -> dict[str, Any]:
        """A role's temporary credentials from the fake STS, assumed with the reader's keys."""
        sts = _client(self.server, "sts", self.keys)
        credentials: dict[str, Any] = sts.assume_role(RoleArn=role, RoleSessionName=session)[
            "Credentials"
        ]
        expiry: datetime.datetime = credentials["Expiration"]
        credentials["Expiration"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        return credentials

    def _fault(self, name: str | None, caller: str) -> None:
        """What AWS does wrong for this block, with the wording AWS uses."""
        token = "GetAuthorizationToken"
        if name == "denied":
            message = (
                f"User: {caller} is not authorized to perform: ecr:GetAuthorizationToken on "
                "resource: * because no identity-based policy allows the "
                "ecr:GetAuthorizationToken action"
            )
            self.fake.add_fault(
                Fault(operation=token, code="AccessDeniedException", message=message)
            )
        elif name == "invalid-token":
            message = "The security token included in the request is invalid."
            self.fake.add_fault(
                Fault(operation=token, code="UnrecognizedClientException", message=message)
            )
        elif name == "assume-denied":
            message = (
                f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: "
                f"{CROSS_ACCOUNT_ROLE}"
            )
            self.fake.add_fault(
                Fault(operation="AssumeRole", code="AccessDenied", status=403, message=message)
            )


@pytest.fixture
def world(
    env: dict[str, str],
    fake: FakeAWS,
    fake_server: Server,
    endpoints: CredentialEndpoints,
    reader_keys: dict[str, str],
) -> World:
    return World(env, fake, fake_server, endpoints, reader_keys)


# -- running a page -----------------------------------------------------------------------------


@dataclass
class Sandbox:
    """The machine of a reader following one page: a HOME, and how far down the page they are."""

    root: Path
    start: int  # index of the step it was made for (0, or a ``fresh`` block)
    next: int  # index of the next step to take

    @property
    def home(self) -> Path:
        return self.root / "home"


SANDBOXES: dict[str, Sandbox] = {}


@dataclass
class Ran:
    code: int
    output: str


def clone(target: Path) -> None:
    """What ``git clone`` of the project gives a reader: the tracked files of this checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def run_block(block: Block, world: World, sandbox: Sandbox) -> Ran:
    env = world.environment(block, sandbox.root, sandbox.home)
    if "clone" in block.options and not (sandbox.home / block.options["clone"]).exists():
        clone(sandbox.home / block.options["clone"])
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block.text],
        cwd=sandbox.home,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=300 if "clone" in block.options else 120,  # a pipx install builds a venv
        check=False,
    )
    return Ran(result.returncode, result.stdout.decode("utf-8", "replace"))


def write_file(block: Block, sandbox: Sandbox) -> None:
    target = block.options["file"]
    path = (
        sandbox.home / target[2:] if target.startswith("~/") else sandbox.root / target.lstrip("/")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.text, encoding="utf-8")


def take(step: Step, world: World, sandbox: Sandbox) -> Ran | None:
    if step.block.writes:
        write_file(step.block, sandbox)
        return None
    return run_block(step.block, world, sandbox)


def sandbox_for(page: str, index: int, tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """The page's sandbox, brought to just before step ``index`` (replaying earlier steps)."""
    steps = STEPS[page]
    start = max((i for i in range(index + 1) if "fresh" in steps[i].block.flags), default=0)
    sandbox = SANDBOXES.get(page)
    if sandbox is None or sandbox.start != start or sandbox.next > index:
        root = tmp_path_factory.mktemp(page.replace(".md", ""))
        (root / "home").mkdir()
        sandbox = SANDBOXES[page] = Sandbox(root, start, start)
    return sandbox


def check(step: Step, ran: Ran, home: Path) -> None:
    block = step.block
    wanted = int(block.options.get("exit", "0"))
    shown = f"--- {block.id} printed:\n{ran.output}"
    assert ran.code == wanted, f"{block.id} exited {ran.code}, the page says {wanted}\n{shown}"
    if step.expected is not None:
        shown_home = block.options.get("home", READER_HOME)
        shown_bin = block.options.get("bin", f"{shown_home}/.local/bin")
        actual = normalise(ran.output, home, shown_home, shown_bin)
        expected = normalise(step.expected.text)
        if not output_matches(expected, actual):
            diff = "\n".join(
                difflib.unified_diff(
                    expected.splitlines(),
                    actual.splitlines(),
                    f"{step.expected.id} (the page)",
                    f"{block.id} (what it printed, normalised)",
                    lineterm="",
                )
            )
            pytest.fail(f"the output shown at {step.expected.id} does not match:\n{diff}")


@pytest.mark.parametrize(
    ("page", "index"),
    RUNNABLE,
    ids=[STEPS[page][index].block.id for page, index in RUNNABLE],
)
def test_block(
    page: str, index: int, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sandbox = sandbox_for(page, index, tmp_path_factory)
    steps = STEPS[page]
    while sandbox.next < index:  # earlier steps, when this test runs alone (-k)
        earlier = steps[sandbox.next]
        sandbox.next += 1
        ran = take(earlier, world, sandbox)
        if ran is not None and ran.code != int(earlier.block.options.get("exit", "0")):
            pytest.fail(f"an earlier block, {earlier.block.id}, failed:\n{ran.output}")
    sandbox.next = index + 1
    ran = take(steps[index], world, sandbox)
    assert ran is not None
    check(steps[index], ran, sandbox.home)


# -- comparing output ---------------------------------------------------------------------------

NORMALISE = [
    (re.compile(r"\b[0-9a-f]{32}\b"), "<fingerprint>"),
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:,\d{3})?(?: UTC)?"), "<time>"),
    (re.compile(r"\bpid=\d+"), "pid=<pid>"),
    (re.compile(r'"Secret": "[^"]*"'), '"Secret": "<secret>"'),
    (re.compile(r"botocore-session-\d+"), "botocore-session-<n>"),
    (
        re.compile(r"clock is \d+ s (behind|ahead of) AWS's"),
        r"clock is <n> s \1 AWS's",
    ),  # Date has whole seconds
    (re.compile(r'(ecrpy\)? |"version": ")\d+\.\d+(?:\.\d+)?(?:[.+-]?\w+)*'), r"\1<version>"),
]


def normalise(
    text: str, home: Path | None = None, shown_home: str = READER_HOME, shown_bin: str = ""
) -> str:
    """What may differ between the reader's machine and the sandbox, made equal."""
    if home is not None:
        text = text.replace(str(BIN), shown_bin).replace(str(home), shown_home)
    for pattern, replacement in NORMALISE:
        text = pattern.sub(replacement, text)
    # Exact but for trailing blanks: a tab the program writes is a tab on the page.
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(lines).strip("\n")


def output_matches(expected: str, actual: str) -> bool:
    """``actual`` is ``expected`` with each ``...`` standing for any text (a line of it: lines)."""
    parts = []
    for line in expected.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append("[^\n]*?".join(re.escape(piece) for piece in line.split("...")) + "\n")
    return re.fullmatch("".join(parts), actual + "\n" if actual else "") is not None


def test_output_comparison_understands_ellipses_and_normalises() -> None:
    assert output_matches("a ... c\n...\nz", "a b b c\nx\ny\nz")
    assert output_matches("a\n...\nz", "a\nz")
    assert not output_matches("a ... c", "a b\nc")
    assert normalise(f'"Secret": "tok", pid=42 {"ab" * 16} (ecrpy) {__version__}') == (
        '"Secret": "<secret>", pid=<pid> <fingerprint> (ecrpy) <version>'
    )


# -- what can be checked without running ----------------------------------------------------------


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in read_blocks(page)]


def test_markers_are_well_formed() -> None:
    problems = []
    for page in pages():
        previous: Block | None = None
        for block in read_blocks(page):
            words = block.info.split()[1:]
            marked = bool(set(words) & FLAGS) or any("=" in word for word in words)
            if marked:
                unknown = (block.flags - FLAGS - {block.lang}) | (set(block.options) - OPTIONS)
                if unknown:
                    problems.append(f"{block.id}: unknown marks {sorted(unknown)}")
                if "test" in block.flags and not (block.runs or block.writes):
                    problems.append(f"{block.id}: 'test' on a {block.lang!r} block without file=")
                if "output" in block.flags and not (previous is not None and previous.runs):
                    problems.append(f"{block.id}: 'output' must follow a marked shell block")
                options = block.options
                if options.get("world", "keys") not in WORLDS:
                    problems.append(f"{block.id}: unknown world {options['world']!r}")
                if options.get("fault", "denied") not in FAULTS:
                    problems.append(f"{block.id}: unknown fault {options['fault']!r}")
                if not re.fullmatch(r"\d+", options.get("exit", "0")):
                    problems.append(f"{block.id}: exit must be a number")
                if not re.fullmatch(r"[+-]?\d+", options.get("clock", "0")):
                    problems.append(f"{block.id}: clock must be a number of seconds")
            previous = block
    assert not problems, "\n".join(problems)
    assert RUNNABLE, "no block of docs/ is marked for testing"


COMMAND = re.compile(r"docker-credential-ecrpy((?:[ \t]+[^\s|;&#'`)]+)+)")
PROTOCOL = ("get", "store", "erase", "list", "version", "--version", "-h", "--help", "help")
TOOLS = ("configure", "doctor", "whoami", "kubelet-provider", "export", "login")


def _commands_in(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line offset, argv after the program) of each ``docker-credential-ecrpy`` command line."""
    for offset, line in enumerate(text.splitlines()):
        for match in COMMAND.finditer(line):
            args = shlex.split(match.group(1))
            if args and (args[0] in PROTOCOL or args[0] in TOOLS or args[0].startswith("-")):
                yield offset, args


def shown_commands() -> list[tuple[str, list[str]]]:
    """Command lines the tests do not run as they stand: in unmarked blocks (CI files, examples),
    and in the prose's inline code (synopses with ``[OPTIONAL]`` parts excepted)."""
    found: dict[tuple[str, tuple[str, ...]], str] = {}
    for page in pages():
        for block in read_blocks(page):
            if block.runs or "output" in block.flags or block.lang in ("text", "json", "toml"):
                continue
            for offset, args in _commands_in(re.sub(r"\\\n\s*", " ", block.text)):
                found.setdefault((page.name, tuple(args)), f"{page.name}:{block.line + 1 + offset}")
        lines = page.read_text(encoding="utf-8").splitlines()
        in_prose = set(prose(page))
        for number, line in enumerate(lines, start=1):
            if line not in in_prose:
                continue
            for span in re.findall(
                r"`([^`]*docker-credential-ecrpy [^`]*)`", line.replace("\\|", "|")
            ):
                if "[" not in span:
                    for _, args in _commands_in(span):
                        found.setdefault((page.name, tuple(args)), f"{page.name}:{number}")
    return [(where, list(args)) for (_, args), where in found.items()]


SHOWN = shown_commands()


@pytest.mark.parametrize("args", [args for _, args in SHOWN], ids=[where for where, _ in SHOWN])
def test_shown_command_parses(args: list[str], world: World, tmp_path: Path) -> None:
    """Commands the tests cannot run as shown (CI files, illustrations) still name real options."""
    if args[0] not in TOOLS:
        assert len(args) == 1 and args[0] in PROTOCOL, f"not a command of ecrpy: {args}"
        return
    home = Path(world.env["HOME"])  # the conftest's empty home for this test
    env = world.environment(Block("-", 0, "sh test", ""), tmp_path, home)
    result = subprocess.run(
        [str(BIN / "docker-credential-ecrpy"), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 2, f"{args}: {result.stdout}{result.stderr}"  # argparse: usage


def test_data_blocks_parse() -> None:
    """JSON and YAML examples are valid; TOML examples are valid ecrpy settings files."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    from credential_helper import config

    problems = []
    for block in all_blocks():
        if block.writes:  # files of a sandbox: the blocks that read them test them, broken or not
            continue
        try:
            if block.lang == "json" and "output" not in block.flags:
                json.loads(block.text)
            elif block.lang in ("yaml", "yml"):
                list(yaml.safe_load_all(block.text))
            elif block.lang == "toml":
                config.parse_text(block.text, block.id)
        except Exception as exc:
            problems.append(f"{block.id}: {type(exc).__name__}: {exc}")
    assert not problems, "\n".join(problems)


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown page."""
    found: set[str] = set()
    for line in prose(path):
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            candidate, n = slug, 0
            while candidate in found:
                n += 1
                candidate = f"{slug}-{n}"
            found.add(candidate)
    return found


def test_relative_links_resolve() -> None:
    problems = []
    for page in [*pages(), ROOT / "README.md"]:
        for target in LINK.findall("\n".join(prose(page))):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            if not linked.exists():
                problems.append(f"{page.name}: {target}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                problems.append(f"{page.name}: {target}: no such heading")
    assert not problems, "\n".join(problems)


def test_index_links_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in pages() if p.name != "README.md" and f"]({p.name}" not in index]
    assert not missing, f"docs/README.md does not link {missing}"


# -- every message ecrpy prints is in troubleshooting.md ------------------------------------------

RAISERS = frozenset(
    {"HelperError", "TokenUnavailable", "ConfigError", "DockerConfigError", "ExportError"}
)
PRINTED = ("ecrpy:", "warning:", "No ECR")  # what configure and whoami write that is a message
NOT_DOCUMENTED_HERE = {"kubelet.py"}  # its messages are in kubernetes.md


def _fragments(node: ast.expr) -> list[str]:
    """The literal pieces of a message: a string, an f-string, or a %-format string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        pieces = [node.value]
    elif isinstance(node, ast.JoinedStr):
        pieces = [
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        ]
    else:
        return []
    return [piece for text in pieces for piece in re.split(r"%[-\d.]*[sdrf]", text)]


def _messages(tree: ast.Module) -> Iterator[tuple[int, ast.expr]]:
    for statement in tree.body:  # the protocol's fixed answers: NOT_FOUND = "..."
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Constant)
            and all(isinstance(t, ast.Name) and t.id.isupper() for t in statement.targets)
        ):
            yield statement.lineno, statement.value
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            owner = getattr(getattr(func, "value", None), "id", "")
            first = _fragments(node.args[0])[:1]
            logged = owner == "log" and name in ("warning", "error")
            printed = name == "write" and bool(first) and first[0].startswith(PRINTED)
            if name in RAISERS or logged or printed:
                yield node.lineno, node.args[0]
            elif name == "Check" and len(node.args) >= 3:
                flag = node.args[1]
                if isinstance(flag, ast.Constant) and flag.value is False:
                    yield node.lineno, node.args[2]
                    if len(node.args) > 3:
                        yield node.lineno, node.args[3]
        elif isinstance(node, ast.FunctionDef) and node.name in ("explain", "_no_credentials"):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    value = inner.value  # explain returns (message, kind)
                    yield inner.lineno, value.elts[0] if isinstance(value, ast.Tuple) else value


def _words(text: str) -> str:
    return " ".join(text.split())


def test_troubleshooting_quotes_every_message() -> None:
    """Each literal piece of every error and warning ecrpy prints appears in troubleshooting.md."""
    page = _words((DOCS / "troubleshooting.md").read_text(encoding="utf-8"))
    missing = []
    for module in sorted(PACKAGE.rglob("*.py")):
        if module.name in NOT_DOCUMENTED_HERE:
            continue
        for line, node in _messages(ast.parse(module.read_text(encoding="utf-8"))):
            for piece in _fragments(node):
                piece = _words(piece).strip(" :;,.()'\"")
                if len(piece) >= 8 and " " in piece and piece not in page:
                    missing.append(f"{module.name}:{line}: {piece!r}")
    assert not missing, "troubleshooting.md does not quote:\n" + "\n".join(missing)
