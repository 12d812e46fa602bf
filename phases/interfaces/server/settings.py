"""How `dataraum serve` is exposed: the address, the bearer token and who needs it."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field

from phases.core.errors import ConfigError

TOKEN_ENV = "DATARAUM_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str = field(default="", repr=False)  # every POST needs it; reads too when reads_need_token
    token_for_reads: bool = False
    cors_origins: tuple[str, ...] = ()  # none by default: the dashboard is served from the same origin
    jobs: int = 4  # tasks at a time for runs started over HTTP
    token_generated: bool = False  # True when no DATARAUM_TOKEN was set (the token is printed at start)
    extra_hosts: tuple[str, ...] = ()  # Host headers accepted besides the bound address (tests: 'testserver')

    @property
    def reads_need_token(self) -> bool:
        """Reads are open only on a loopback address, and only unless --token-for-reads."""
        return self.token_for_reads or not is_loopback(self.host)

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        """Host headers the app answers: on loopback only loopback names, so a web page elsewhere
        cannot reach the API through DNS rebinding."""
        if not is_loopback(self.host):
            return ("*",)
        return (*LOOPBACK_NAMES, *self.extra_hosts)


def server_settings(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token_for_reads: bool = False,
                    cors_origins: tuple[str, ...] = (), jobs: int = 4, token: str | None = None) -> ServerSettings:
    """The settings of a server; refuses an address beyond loopback without a token of the
    user's own (DATARAUM_TOKEN), because a generated one printed on a shared machine's
    terminal is not a secret the user chose to share."""
    given = token if token is not None else os.environ.get(TOKEN_ENV, "")
    if not is_loopback(host) and not given:
        raise ConfigError(
            f"refusing to listen on {host} without a token: set {TOKEN_ENV} (every route then needs it "
            f"as 'Authorization: Bearer ...'), or serve on {DEFAULT_HOST}"
        )
    if given and len(given) < 16:
        raise ConfigError(f"{TOKEN_ENV} is {len(given)} characters long; use at least 16 (e.g. `openssl rand -hex 16`)")
    return ServerSettings(host, port, given or secrets.token_urlsafe(24), token_for_reads, cors_origins, jobs,
                          token_generated=not given)
