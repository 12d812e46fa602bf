"""One exception base with a subclass per stage, so the CLI and the task runner
can map each to a clear one-line message and an exit code in one place."""


class DataraumError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code = 1


class ConfigError(DataraumError):
    """A YAML file under config/ is missing, malformed or inconsistent."""

    exit_code = 2


class InputError(DataraumError):
    """The input itself cannot be used (an empty, binary or undecodable file). The task records
    the failure as its result instead of failing in doit, so the source's other tables go on;
    it runs again when the file (or the phase's code or settings) changes."""


class ImportFailed(InputError):
    """A CSV file cannot be imported at all (empty, unreadable, not CSV)."""


class PhaseError(DataraumError):
    """A phase could not produce its artifacts from its inputs."""


class StateError(DataraumError):
    """The state directory or an upstream manifest is missing or inconsistent."""


class Unresolved(Exception):
    """What a check or a metric needs (a concept, a column, a join) is not in the data or cannot
    be used; `reason` says why in one sentence. Not an error: the validation and metrics phases
    turn it into a skipped check or a refused metric."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
