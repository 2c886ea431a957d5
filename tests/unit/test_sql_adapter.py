"""Named queries run on the connection they are given, without aiosql's per-query ``dir(conn)``
(about 50 µs a query: 2.5 s of the requests service's CPU in a flow bench; issue 14)."""

import asyncio
from pathlib import Path
from typing import Any

from services.runtime.db import load_queries, rows

SQL = """
-- name: by_id(id, kind)^
SELECT * FROM t WHERE id = :id AND kind = :kind;

-- name: all_of(kind)
SELECT * FROM t WHERE kind = :kind;

-- name: count_of(kind)$
SELECT count(*) FROM t WHERE kind = :kind;

-- name: add(kind, id)<!
INSERT INTO t (kind, id) VALUES (:kind, :id) RETURNING id;

-- name: touch(id)!
UPDATE t SET seen = true WHERE id = :id;

-- name: add_many(id, kind)*!
INSERT INTO t (id, kind) VALUES (:id, :kind);
"""


class _Row(dict[str, Any]):
    """An asyncpg Record is read by name and by position."""

    def __getitem__(self, key: str | int) -> Any:
        return list(self.values())[key] if isinstance(key, int) else super().__getitem__(key)


class _Connection:
    """Records what it is asked; ``dir()`` on it fails, as it costs on a real one."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []

    def __dir__(self) -> list[str]:
        raise AssertionError("dir() called on the connection")

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        self.calls.append(("fetch", sql, args))
        return [{"id": 1}, {"id": 2}]

    async def fetchrow(self, sql: str, *args: Any) -> _Row:
        self.calls.append(("fetchrow", sql, args))
        return _Row(id=7)

    async def fetchval(self, sql: str, *args: Any) -> int:
        self.calls.append(("fetchval", sql, args))
        return 3

    async def execute(self, sql: str, *args: Any) -> str:
        self.calls.append(("execute", sql, args))
        return "UPDATE 1"

    async def executemany(self, sql: str, args: list[Any]) -> None:
        self.calls.append(("executemany", sql, tuple(args)))


def test_each_kind_of_query_runs_on_the_connection_with_its_parameters_in_order(tmp_path: Path) -> None:
    (tmp_path / "t.sql").write_text(SQL)
    q = load_queries(tmp_path)
    conn = _Connection()

    async def run() -> list[Any]:
        return [
            await q.by_id(conn, kind="a", id=7),
            await rows(q.all_of(conn, kind="a")),
            await q.count_of(conn, kind="a"),
            await q.add(conn, id=9, kind="b"),
            await q.touch(conn, id=9),
            await q.add_many(conn, [{"id": 1, "kind": "x"}, {"id": 2, "kind": "y"}]),
        ]

    answers = asyncio.run(run())
    assert answers[:5] == [{"id": 7}, [{"id": 1}, {"id": 2}], 3, 7, "UPDATE 1"]
    assert [(kind, args) for kind, _, args in conn.calls] == [
        ("fetchrow", (7, "a")),
        ("fetch", ("a",)),
        ("fetchval", ("a",)),
        ("fetchrow", ("b", 9)),
        ("execute", (9,)),
        ("executemany", ([1, "x"], [2, "y"])),
    ]
    assert conn.calls[0][1].strip() == "SELECT * FROM t WHERE id = $1 AND kind = $2;"
