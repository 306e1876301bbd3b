"""JSON without the ``json`` package's import cost.

``import json`` pulls in :mod:`re` (``json.decoder`` compiles its patterns at import), which
costs more than everything else a warm ``get`` does. The C accelerator ``_json`` that
``json`` itself uses needs no regular expression: its scanner parses a whole document and its
string encoder escapes a string. This module wraps the two, and falls back to ``json`` on an
interpreter without the accelerator, so the output is the same standard JSON either way.
"""

TYPE_CHECKING = False  # a warm module: see docs/architecture.md, "The get path is hot"
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable, Union

    Scalar = Union[str, int, float, bool, None]

_scan: "Callable[[str, int], Any] | None" = None
_quote: "Callable[[str], str]"

try:
    import _json as _accel

    class _Context:
        """The attributes ``_json.make_scanner`` reads: the defaults of ``json.JSONDecoder``."""

        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = float  # NaN/Infinity, as json does
        memo: dict[str, str] = {}  # noqa: RUF012 - the scanner's own memo, cleared per call

    _scan = _accel.make_scanner(_Context())  # type: ignore[arg-type]
    _quote = _accel.encode_basestring_ascii
except (ImportError, AttributeError, TypeError):  # pragma: no cover - not CPython
    import json as _json_module

    _quote = _json_module.encoder.encode_basestring_ascii


_WHITESPACE = " \t\n\r"


def loads(text: str) -> "Any":
    """Parse one JSON document; raise ValueError when ``text`` is not exactly that."""
    if _scan is None:  # pragma: no cover - not CPython
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        raise ValueError("not a JSON document") from None
    except (ValueError, SystemError):
        # The scanner builds its error from json.decoder, and CPython 3.11 only looks for that
        # module among those already imported: without it the error is a bare SystemError.
        # Errors are the cold path, so let json itself parse again and raise its ValueError.
        import json

        return json.loads(text)
    finally:
        _Context.memo.clear()
    if text[end:].strip(_WHITESPACE):
        raise ValueError("extra data after the JSON document")
    return value


def _scalar(value: "Scalar") -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float) and value - value == 0.0:  # finite: inf - inf and NaN are NaN
        return float.__repr__(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(obj: "dict[str, Scalar]") -> str:
    """Encode a flat object (string keys, scalar values): all the helper protocol ever sends."""
    return "{" + ", ".join(_quote(key) + ": " + _scalar(value) for key, value in obj.items()) + "}"


def dumps_nested(obj: "Mapping[str, Mapping[str, Scalar]]") -> str:
    """Encode an object of flat objects: ecrpy's login store, one object per registry."""
    return "{" + ", ".join(_quote(k) + ": " + dumps(dict(v)) for k, v in obj.items()) + "}"
