"""A doit dep-file backend that makes every finished task durable at once.

doit's own backends keep their records in memory and write them when the run
ends, so `kill -9` (or an OOM kill of doit itself) forgets every task that
finished in that run. This backend commits a task's record as soon as doit has
saved its success (the 'deps:' key is the last one `save_success` writes) and
whenever a task's record is removed. Registered in pyproject.toml under
[tool.doit.plugins.backend] as `sqlite3_durable`."""

from __future__ import annotations

from pathlib import Path

from doit.dependency import JSONCodec, SqliteDB

# The key doit's Dependency.save_success writes last for a task (doit 0.37).
_LAST_KEY_OF_A_SUCCESS = "deps:"
_COMMIT_KEYS = {_LAST_KEY_OF_A_SUCCESS, "ignore:"}


class DurableSqliteDB(SqliteDB):
    def __init__(self, name: str, codec: JSONCodec, *, module_name: str | None = None) -> None:
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(name, codec, module_name=module_name)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=60000")

    def set(self, task_id: str, dependency: str, value: object) -> None:
        super().set(task_id, dependency, value)
        if dependency in _COMMIT_KEYS:
            self._write(task_id)

    def _write(self, task_id: str) -> None:
        self._conn.execute(
            "insert or replace into doit values (?,?)", (task_id, self.codec.encode(self._cache[task_id]))
        )
        self._conn.commit()
        self._dirty.discard(task_id)

    def remove(self, task_id: str) -> None:
        super().remove(task_id)
        self._conn.commit()

    def remove_all(self) -> None:
        super().remove_all()
        self._conn.commit()
