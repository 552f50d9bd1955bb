"""The contract with the TypeScript side, generated from lake/jobServerContract.ts by `npm run schema`
(never edited here): each operation's request as JSON Schema (job-server.schema.json), and the spec
constants both sides act on with every error code's HTTP status (constants.json).

Each request is parsed by its type (requests.py, types.py: the clear, field-naming refusals of identifiers,
URIs and layouts) and then validated against the schema, so nothing the contract doesn't describe
gets through; jobs/tests/test_contract.py checks the request types read exactly the schema's fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).parent


def _load(name: str) -> dict[str, Any]:
    # Files of this package, a few kilobytes: not an object store's.
    with open(HERE / name, encoding="utf-8") as f:
        return json.load(f)


SCHEMA: dict[str, Any] = _load("job-server.schema.json")
CONSTANTS: dict[str, Any] = _load("constants.json")

_validators: dict[str, Any] = {}


def request_schema(op: str) -> dict[str, Any]:
    return SCHEMA["definitions"][op]


def check(op: str, body: Any) -> None:
    """BAD_REQUEST naming the field when `body` is not a request of `op` as the contract has it."""
    import jsonschema

    from ..errors import BadRequest

    v = _validators.get(op)
    if v is None:
        v = _validators[op] = jsonschema.Draft7Validator(request_schema(op))
    error = jsonschema.exceptions.best_match(v.iter_errors(body))
    if error is not None:
        where = ".".join(["request", *(str(p) for p in error.absolute_path)])
        raise BadRequest(f"field {where}: {error.message} (the job server's contract, lake/jobServerContract.ts)")


def checked(op: str, parse: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """`parse`, then the body checked against the contract's request of `op`."""

    def parse_checked(body: dict[str, Any]) -> Any:
        request = parse(body)
        check(op, body)
        return request

    return parse_checked
