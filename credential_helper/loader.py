"""botocore's data loader without the scan of every service directory.

Before it loads a service model, ``botocore.loaders.Loader.load_service_model`` lists every
service that ships with botocore (~420 directories: ~900 ``listdir`` and ~2,700 ``stat``
calls, 20-40 ms of a cold ``get``), only to check that the one asked for is among them.
:class:`Loader` answers that membership question for the one service, by the same criterion
(some API version directory of it, in a search path, holds a file of that type), and lists
them all only when the service is unknown, for botocore's own error message. Everything else
(search paths, models, endpoints, partitions) is botocore's own loader, untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from botocore import loaders
from botocore.exceptions import DataNotFoundError


class _KnownServices(Sequence[str]):
    """The sorted service names, as botocore lists them; ``name in`` one answers by itself.

    A sequence like botocore's list for every other use (``get_available_services``, the
    message of ``UnknownServiceError``), computed by botocore's own scan when first needed.
    """

    def __init__(self, loader: Loader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name
        self._all: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
            return name in self._listing()
        try:
            return bool(self._loader.list_api_versions(name, self._type_name))
        except DataNotFoundError:
            return False

    def _listing(self) -> list[str]:
        if self._all is None:
            self._all = list(loaders.Loader.list_available_services(self._loader, self._type_name))
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._listing())

    def __len__(self) -> int:
        return len(self._listing())

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._listing()[index]


class Loader(loaders.Loader):  # type: ignore[misc]
    def list_available_services(self, type_name: str) -> Any:
        return _KnownServices(self, type_name)


def install(session: Any) -> None:
    """Give ``session`` this loader, over the very search paths botocore's own would use."""
    own = session.get_component("data_loader")
    session.register_component(
        "data_loader",
        Loader(
            extra_search_paths=own.search_paths,
            file_loader=own.file_loader,
            include_default_search_paths=False,
        ),
    )
