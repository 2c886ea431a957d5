"""Lists that page (issue 17): ``limit`` and ``cursor`` on every list, the next page named by a
``Link: <…>; rel="next"`` header (RFC 8288), so that no answer changes shape: a client that sends
neither gets the whole list, as before.

The cursor is opaque to clients: the sort key of the last item served, base64url. It is not signed:
it only says where to resume in a list the caller may read anyway (the query still filters on what
the token holds), so a forged one can at most start a page elsewhere. A cursor naming no item of the
list (made up, or from another list) is refused, 422 ``curseur-invalide``. The lists are short (an
affiliate's requests and accounts, a plan's debits, a position's periods): they are paged after
being read whole, and only the page is rendered.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response

from services.runtime.problems import Problem

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
"""a page when a cursor comes without a limit"""
LINK_HEADER = {
    "Link": {
        "description": 'la page suivante, s\'il y en a une : `</v1/…?limit=…&cursor=…>; rel="next"` (RFC 8288)',
        "schema": {"type": "string"},
    }
}
"""what a paged operation declares of its 200 (``responses={200: {"headers": LINK_HEADER}}``)"""

T = TypeVar("T")
Key = list[str]


@dataclass(frozen=True)
class Paging:
    limit: int | None
    cursor: str | None

    @property
    def whole(self) -> bool:
        return self.limit is None and self.cursor is None


async def _paging(
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_LIMIT, description=f"taille de la page (1 à {MAX_LIMIT}) ; absent : tout")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=512,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="où reprendre : le curseur de l'en-tête Link de la page précédente",
        ),
    ] = None,
) -> Paging:
    return Paging(limit, cursor)


Page = Annotated[Paging, Depends(_paging)]


def encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if not isinstance(key, list) or not all(isinstance(part, str) for part in key):
        raise _invalid()
    return key


def page_of(
    items: Sequence[T], key: Callable[[T], Key], paging: Paging, request: Request, response: Response
) -> list[T]:
    """The page ``paging`` asks for of ``items`` (already in their order), and the ``Link`` to the
    next one on ``response`` when there is more."""
    if paging.whole:
        return list(items)
    start = 0
    if paging.cursor is not None:
        after = decode_cursor(paging.cursor)
        positions = [index for index, item in enumerate(items) if key(item) == after]
        if not positions:
            raise _invalid()
        start = positions[0] + 1
    limit = paging.limit or DEFAULT_LIMIT
    page = list(items[start : start + limit])
    if start + limit < len(items):
        query = {k: v for k, v in request.query_params.items() if k not in ("limit", "cursor")}
        query |= {"limit": str(limit), "cursor": encode_cursor(key(page[-1]))}
        response.headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return page


def _invalid() -> Problem:
    return Problem(
        422,
        "curseur-invalide",
        "Ce curseur ne désigne aucun élément de cette liste : reprenez depuis la première page.",
    )
