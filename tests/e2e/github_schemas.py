"""GitHub's published descriptions, as the fake API and the event payloads are held to them.

- The REST description: npm `@octokit/openapi` (`generated/api.github.com.json`, OpenAPI 3.0.3), installed under
  tests/tools by `make test`. `nullable: true` is turned into JSON Schema's `null` type so that jsonschema checks it.
- The webhook payload schemas: npm `@octokit/webhooks-schemas` (`schema.json`, JSON Schema draft-07).

`example(name)` builds the smallest object the description accepts for a component schema (every required field,
nullable ones as null): the fake starts each object it returns from one and sets what it knows.
"""

import copy
import functools
import json
import re
from pathlib import Path

from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

TOOLS = Path(__file__).resolve().parents[1] / "tools" / "node_modules" / "@octokit"
OPENAPI = TOOLS / "openapi" / "generated" / "api.github.com.json"
WEBHOOKS = TOOLS / "webhooks-schemas" / "schema.json"
NOW = "2026-11-24T00:00:00Z"


def _nullable_to_json_schema(node):
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable_to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if isinstance(converted.get("type"), str) and "$ref" not in converted and "allOf" not in converted:
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def openapi() -> dict:
    if not OPENAPI.is_file():
        raise FileNotFoundError(f"{OPENAPI} is missing: run `make test`, which installs tests/tools with npm")
    return _nullable_to_json_schema(json.loads(OPENAPI.read_text()))


@functools.cache
def webhooks() -> dict:
    return json.loads(WEBHOOKS.read_text())


@functools.cache
def _openapi_registry() -> Registry:
    return Registry().with_resource(
        "urn:openapi", Resource.from_contents(openapi(), default_specification=DRAFT202012)
    )


def _absolute(schema):
    """Point the description's local references at its registered copy."""
    text = json.dumps(schema).replace('"$ref": "#/', '"$ref": "urn:openapi#/')
    return json.loads(text)


def operation(method: str, template: str) -> dict | None:
    return openapi()["paths"].get(template, {}).get(method.lower())


@functools.cache
def _templates() -> list[tuple[re.Pattern, str]]:
    found = []
    for template in openapi()["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        found.append((re.compile(pattern), template))
    # The most literal template wins: /repos/{o}/{r}/releases/latest before /repos/{o}/{r}/releases/{id}.
    return sorted(found, key=lambda item: item[1].count("{"))


def template_of(path: str) -> str | None:
    """The description's path template a concrete API path matches (most literal first)."""
    path = path.split("?")[0]
    return next((template for pattern, template in _templates() if pattern.match(path)), None)


def response_validator(method: str, template: str, status: int):
    """A validator for the JSON body of `status` answered to `method template`, or None when it has no body."""
    responses = operation(method, template)["responses"]
    response = responses.get(str(status))
    if response is None:
        raise KeyError(
            f"{method} {template} documents no {status} response (it documents {sorted(responses)})"
        )
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return Draft202012Validator(_absolute(schema), registry=_openapi_registry())


def check_response(method: str, path: str, status: int, body) -> list[str]:
    """Problems of one response against the description: an unknown route, an undocumented status, a body that
    does not validate. Empty when it conforms."""
    template = template_of(path)
    if template is None or operation(method, template) is None:
        return [f"{method} {path}: no such operation in GitHub's REST description"]
    try:
        validator = response_validator(method, template, status)
    except KeyError as error:
        return [str(error)]
    if validator is None:
        return [] if body in (None, b"", "") else [f"{method} {template} {status}: documented without a body"]
    return [
        f"{method} {template} {status}: {'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in validator.iter_errors(body)
    ]


def webhook_validator(event: str, action: str | None):
    """A validator of the payload of `event` (with its activity type, when it has several)."""
    definitions = webhooks()["definitions"]
    if (
        event == "pull_request_target"
    ):  # "Webhook event payload: pull_request" (Events that trigger workflows)
        event = "pull_request"
    candidates = [f"{event}${action}" if action else None, f"{event}$event", f"{event}_event"]
    name = next((name for name in candidates if name in definitions), None)
    if name is None:
        raise KeyError(f"octokit's webhook schemas have no payload for {event} ({action})")
    registry = Registry().with_resource(
        "urn:webhooks", Resource.from_contents(webhooks(), default_specification=DRAFT7)
    )
    schema = json.loads(json.dumps(definitions[name]).replace('"$ref": "#/', '"$ref": "urn:webhooks#/'))
    return Draft7Validator(schema, registry=registry)


def check_payload(event: str, payload: dict) -> list[str]:
    validator = webhook_validator(event, payload.get("action"))
    return [
        f"{event} payload: {'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in validator.iter_errors(payload)
    ]


def _resolve(node: dict, document: dict) -> dict:
    while "$ref" in node:
        path = node["$ref"].split("#/", 1)[1].split("/")
        target = document
        for part in path:
            target = target[part.replace("~1", "/")]
        node = target
    return node


def _example(node: dict, document: dict, depth: int = 0):
    node = _resolve(node, document)
    if depth > 25:
        return None
    if "allOf" in node:
        merged = {}
        for part in node["allOf"]:
            value = _example(part, document, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [option for option in node[key] if _resolve(option, document).get("type") != "null"]
            return _example((options or node[key])[0], document, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        if "null" in kind:
            return None
        kind = kind[0]
    if "enum" in node:
        return node["enum"][0]
    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        return {
            name: _example(properties.get(name, {}), document, depth + 1) for name in node.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "integer":
        return int(node.get("example", 1)) if isinstance(node.get("example", 1), int) else 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = node.get("format")
        if fmt == "date-time":
            return NOW
        if fmt in ("uri", "url"):
            return "https://github.com/"
        if fmt == "email":
            return "someone@example.com"
        return node["example"] if isinstance(node.get("example"), str) else "x"
    return None


@functools.cache
def _cached_example(name: str) -> str:
    document = openapi()
    return json.dumps(_example(document["components"]["schemas"][name], document))


def example(schema: str, /, **overrides) -> dict:
    """The smallest valid object of the component schema `schema`, with `overrides` set."""
    value = json.loads(_cached_example(schema))
    value.update(copy.deepcopy(overrides))
    return value


@functools.cache
def _cached_webhook_example(definition: str) -> str:
    document = webhooks()
    return json.dumps(_example(document["definitions"][definition], document))


def webhook_example(definition: str) -> dict:
    return json.loads(_cached_webhook_example(definition))
