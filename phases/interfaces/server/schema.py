"""Prints the API's OpenAPI schema (`python -m phases.interfaces.server.schema` from the project
root): ui/openapi.json, from which the dashboard's typed client is generated, so the page and
the API cannot drift apart (.ci/run regenerates it and fails on a difference)."""

from __future__ import annotations

import json

from phases.interfaces.server.app import create_app


def main() -> None:
    print(json.dumps(create_app().openapi(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
