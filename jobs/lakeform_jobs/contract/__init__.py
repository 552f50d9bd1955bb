"""The contract with the TypeScript side, generated from lake/jobServerContract.ts by `npm run schema`
(never edited here): each operation's request and reply, GET /progress's and GET /healthz's replies
and the change document as JSON Schema (job-server.schema.json; every object but a filter tree
refuses an unknown field), and the spec constants both sides act on with every error code's HTTP
status (constants.json).

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


def _refusal(key: str, schema: dict[str, Any], body: Any, what: str) -> str | None:
    """Why `body` is not what `schema` describes, naming the field under `what`; None when it is."""
    import jsonschema

    v = _validators.get(key)
    if v is None:
        v = _validators[key] = jsonschema.Draft7Validator(schema)
    error = jsonschema.exceptions.best_match(v.iter_errors(body))
    if error is None:
        return None
    where = ".".join([what, *(str(p) for p in error.absolute_path)])
    return f"field {where}: {error.message} (the job server's contract, lake/jobServerContract.ts)"


def check(op: str, body: Any) -> None:
    """BAD_REQUEST naming the field when `body` is not a request of `op` as the contract has it
    (an unknown field included: every object of a request but a filter tree is closed)."""
    from ..errors import BadRequest

    why = _refusal(f"request:{op}", request_schema(op), body, "request")
    if why:
        raise BadRequest(why)


def check_change_document(body: Any) -> None:
    """BAD_REQUEST naming the field when `body` is not a change document as the contract has it."""
    from ..errors import BadRequest

    # One schema per op (a discriminated union): the document is checked against its op's, so the
    # refusal names its own field, not the other op's.
    branches = {b["properties"]["op"]["const"]: b for b in SCHEMA["changeDocument"]["oneOf"]}
    op = body.get("op") if isinstance(body, dict) else None
    schema = branches.get(op, SCHEMA["changeDocument"]) if isinstance(op, str) else SCHEMA["changeDocument"]
    why = _refusal(f"changeDocument:{op if op in branches else ''}", schema, body, "change document")
    if why:
        raise BadRequest(why)


def reply_refusal(op: str, reply: Any) -> str | None:
    """Why `reply` (without `ok`) is not a reply of `op` (a POST operation, or GET progress/healthz) as the contract has it."""
    schema = SCHEMA["replies"][op] if op in SCHEMA["replies"] else SCHEMA["get"][op]
    return _refusal(f"reply:{op}", schema, reply, "reply")


def checked(op: str, parse: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """`parse`, then the body checked against the contract's request of `op`."""

    def parse_checked(body: dict[str, Any]) -> Any:
        request = parse(body)
        check(op, body)
        return request

    return parse_checked
