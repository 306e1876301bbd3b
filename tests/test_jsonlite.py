"""jsonlite: the same JSON as the standard library, without importing it on the warm path."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credential_helper import jsonlite

# Any text at all, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(exclude_categories=()))

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and +-Infinity too: json.dumps writes them, and both parsers read them
    ANY_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(ANY_TEXT, children, max_size=5),
    ),
    max_leaves=25,
)
# Text that looks like JSON more often than arbitrary text does.
JSONISH_TEXT = st.text(
    alphabet='{}[]",:0123456789.eE+- \t\n\r\\/truefalsnNIiyu\x00\x7f', max_size=30
)


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same types all the way down; NaN equals NaN, -0.0 differs from 0.0."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    return bool(left == right)


def test_same_tells_values_apart() -> None:
    """The comparison the property tests rely on must itself see differences."""
    assert same({"a": [1, 2.5, None]}, {"a": [1, 2.5, None]})
    assert same(math.nan, math.nan)
    assert not same(1, 1.0)
    assert not same(1, True)
    assert not same(0.0, -0.0)
    assert not same([1], [1, 2])
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same({"a": [1]}, {"a": [2]})


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 0, 2]), st.sampled_from(["", " ", "\n", " \t\r\n"]))
def test_loads_agrees_with_json_on_valid_documents(
    value: Any, indent: int | None, pad: str
) -> None:
    for ensure_ascii in (True, False):
        text = pad + json.dumps(value, indent=indent, ensure_ascii=ensure_ascii) + pad
        assert same(jsonlite.loads(text), json.loads(text)), text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("{}", {}),
        ("[]", []),
        (
            '  {"a": [1, 2.5, -3e2, true, false, null]}\n',
            {"a": [1, 2.5, -300.0, True, False, None]},
        ),
        ('"\\u00e9\\ud83d\\ude00\\n"', "\u00e9\U0001f600\n"),
        ('{"a": 1, "a": 2}', {"a": 2}),
        ("0", 0),
        ("-0.0", -0.0),
        ("1E400", math.inf),
        ("12345678901234567890", 12345678901234567890),
    ],
)
def test_loads_examples(text: str, value: Any) -> None:
    assert same(jsonlite.loads(text), value)
    assert same(jsonlite.loads(text), json.loads(text))


INVALID = [
    "",
    " ",
    "\n\t",
    "{",
    "}",
    "[",
    "[1",
    "[1,]",
    "[,1]",
    '{"a"}',
    '{"a": }',
    '{"a" 1}',
    '{"a": 1,}',
    "{'a': 1}",
    "{a: 1}",
    "{} x",
    "{}{}",
    "[1] [2]",
    "1 2",
    '"a" "b"',
    "nul",
    "nulll",
    "True",
    "undefined",
    "01",
    "1.",
    ".5",
    "-",
    "+1",
    "0x10",
    "NaNx",
    "infinity",
    '"unterminated',
    '"bad \\x escape"',
    '"bad \\u12 escape"',
    '"raw \x00 control"',
    '"raw \n newline"',
    "\ufeff{}",
    "\x00",
    "/* comment */ {}",
    "{} // comment",
    "\u00a0{}",
    "{}\u00a0",
]


@pytest.mark.parametrize("text", INVALID)
def test_loads_rejects_invalid_text_with_value_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # the test's own premise: the standard library rejects it too
    with pytest.raises(ValueError):  # any ValueError: JSONDecodeError is a detail
        jsonlite.loads(text)


def test_loads_rejects_invalid_text_in_a_fresh_interpreter() -> None:
    """As the helper runs: a new process in which nothing has imported ``json`` yet.

    The in-process tests cannot see this: pytest and hypothesis import ``json`` long before.
    """
    code = (
        "import sys\n"
        "from credential_helper import jsonlite\n"
        "for text in sys.argv[1:]:\n"
        "    try:\n"
        "        jsonlite.loads(text)\n"
        "    except ValueError:\n"
        "        print('ValueError')\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__)\n"
        "    else:\n"
        "        print('accepted')\n"
    )
    texts = [text for text in INVALID if "\x00" not in text]  # argv cannot carry NUL
    result = subprocess.run(
        [sys.executable, "-c", code, *texts],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    outcomes = dict(zip(texts, result.stdout.splitlines()))
    assert len(outcomes) == len(texts), result.stdout + result.stderr
    wrong = {text: outcome for text, outcome in outcomes.items() if outcome != "ValueError"}
    assert wrong == {}


def _check_agrees_with_json(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            jsonlite.loads(text)
    else:
        assert same(jsonlite.loads(text), expected), text


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT)
def test_loads_agrees_with_json_on_arbitrary_text(text: str) -> None:
    _check_agrees_with_json(text)


@settings(max_examples=500, deadline=None)
@given(JSONISH_TEXT)
def test_loads_agrees_with_json_on_json_like_text(text: str) -> None:
    _check_agrees_with_json(text)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.integers(0, 50), st.data())
def test_loads_agrees_with_json_on_damaged_documents(
    value: Any, cut: int, data: st.DataObject
) -> None:
    text = json.dumps(value)
    damage = data.draw(st.sampled_from(["truncate", "append", "insert"]))
    junk = data.draw(st.sampled_from(list(',:{}[]"\\x0 ')))
    where = min(cut, len(text))
    if damage == "truncate":
        text = text[:where]
    elif damage == "append":
        text += junk
    else:
        text = text[:where] + junk + text[where:]
    _check_agrees_with_json(text)


FLAT_VALUES = st.one_of(
    ANY_TEXT,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(ANY_TEXT, FLAT_VALUES, max_size=8))
def test_dumps_round_trips_through_json(obj: dict[str, Any]) -> None:
    text = jsonlite.dumps(obj)
    assert "\n" not in text and "\r" not in text  # one line: the protocol's answers are lines
    assert same(json.loads(text), obj)
    assert same(jsonlite.loads(text), obj)


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"ServerURL": "https://h", "Username": "AWS", "Secret": "s"},
        {'quo"te': 'back\\slash "quoted"', "ctl": "\x00\x01\x1f\x7f\t\r\n"},
        {"ünïcödé": "☃ \U0001f600 \u2028\u2029", "lone": "\ud800"},
        {"int": 0, "neg": -1, "big": 2**70, "float": 0.1, "tiny": 5e-324, "negzero": -0.0},
        {"big float": 1.7976931348623157e308, "exp": 1e22},
        {"true": True, "false": False, "none": None},
    ],
)
def test_dumps_examples_round_trip(obj: dict[str, Any]) -> None:
    assert same(json.loads(jsonlite.dumps(obj)), obj)


def test_dumps_keeps_key_order() -> None:
    assert list(json.loads(jsonlite.dumps({"b": 1, "a": 2, "c": 3}))) == ["b", "a", "c"]


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_dumps_rejects_non_finite_floats(number: float) -> None:
    with pytest.raises(TypeError):
        jsonlite.dumps({"x": number})


@pytest.mark.parametrize(
    "value",
    [
        [],
        [1],
        {},
        {"a": 1},
        (),
        ("a",),
        {1},
        b"bytes",
        bytearray(b"x"),
        object(),
        Decimal("1.5"),
        1j,
    ],
)
def test_dumps_rejects_non_scalar_values(value: object) -> None:
    with pytest.raises(TypeError):
        jsonlite.dumps({"ok": "fine", "x": value})  # type: ignore[dict-item]


@pytest.mark.parametrize("key", [1, None, 1.5, b"key", ("a",)])
def test_dumps_rejects_non_string_keys(key: object) -> None:
    with pytest.raises(TypeError):
        jsonlite.dumps({key: "value"})  # type: ignore[dict-item]
