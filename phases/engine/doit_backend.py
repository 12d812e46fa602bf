"""A doit dep-file backend that makes every finished task durable at once.

doit's own backends keep their records in memory and write them when the run
ends, so `kill -9` (or an OOM kill of doit itself) forgets every task that
finished in that run. This backend commits a task's record as soon as doit has
saved its success (the 'deps:' key is the last one `save_success` writes) and
whenever a task's record is removed. Registered in pyproject.toml under
[tool.doit.plugins.backend] as `sqlite3_durable`.

It also keeps the records portable: doit keys a task's file states by the file's path, and the
tasks name files by absolute path, so a copied or moved project would rerun everything. Paths
inside the project are stored relative to it (the dep file lives at <project>/state/)."""

from __future__ import annotations

from pathlib import Path

from doit.dependency import JSONCodec, SqliteDB

# The key doit's Dependency.save_success writes last for a task (doit 0.37); its value is the
# task's file_dep paths.
_LAST_KEY_OF_A_SUCCESS = "deps:"
_COMMIT_KEYS = {_LAST_KEY_OF_A_SUCCESS, "ignore:"}
_IN_PROJECT = "@project/"  # the stored spelling of a path inside the project


class DurableSqliteDB(SqliteDB):
    def __init__(self, name: str, codec: JSONCodec, *, module_name: str | None = None) -> None:
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(name, codec, module_name=module_name)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=60000")
        # In WAL mode a commit survives a killed process without an fsync per task; only a crash of
        # the machine can lose the last records, and their tasks then rerun (never the reverse).
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._project = f"{Path(name).resolve().parent.parent}/"

    def get(self, task_id: str, dependency: str) -> object:
        value = super().get(task_id, self._stored(dependency))
        if dependency == _LAST_KEY_OF_A_SUCCESS and isinstance(value, list):  # as JSON decodes it
            return [self._real(p) for p in value]
        return value

    def set(self, task_id: str, dependency: str, value: object) -> None:
        if dependency == _LAST_KEY_OF_A_SUCCESS and isinstance(value, list | tuple):
            value = tuple(self._stored(p) for p in value)
        super().set(task_id, self._stored(dependency), value)
        if dependency in _COMMIT_KEYS:
            self._write(task_id)

    def _stored(self, path: str) -> str:
        return _IN_PROJECT + path[len(self._project):] if path.startswith(self._project) else path

    def _real(self, path: str) -> str:
        return self._project + path[len(_IN_PROJECT):] if path.startswith(_IN_PROJECT) else path

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
