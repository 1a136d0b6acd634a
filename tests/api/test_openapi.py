"""docs/openapi.yaml is the read API's contract: every documented path answers as documented,
and every address of the API is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from faces.models import Label
from tests.factories import FaceFactory, LabelFactory, ProjectFactory, ProjectImageFactory

SPEC = yaml.safe_load((Path(settings.BASE_DIR) / "docs" / "openapi.yaml").read_text())
PREFIX = SPEC["servers"][0]["url"]  # /api/v1
PARAMETER = re.compile(r"<(?:\w+:)?\w+>|\{\w+\}")


def api_routes() -> set[str]:
    """Every address of the ``api`` namespace, below its prefix, parameters as ``{}``."""
    (include,) = [
        entry
        for entry in get_resolver().url_patterns
        if isinstance(entry, URLResolver) and entry.namespace == "api"
    ]
    assert "/" + str(include.pattern) == PREFIX + "/"
    return {
        "/" + PARAMETER.sub("{}", str(entry.pattern))
        for entry in include.url_patterns
        if isinstance(entry, URLPattern)
    }


def test_every_api_address_is_documented_and_nothing_else():
    documented = {PARAMETER.sub("{}", path) for path in SPEC["paths"]}
    assert api_routes() == documented


def test_the_spec_declares_openapi_3_and_get_only():
    assert str(SPEC["openapi"]).startswith("3.")
    for path, operations in SPEC["paths"].items():
        assert set(operations) == {"get"}, path


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def conforms(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (the subset of OpenAPI schemas the file uses)."""
    schema = resolve(schema)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null"]
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool}
    kinds |= {"integer": int, "number": (int, float)}
    if not isinstance(value, kinds[schema["type"]]):
        return [f"{where}: not {schema['type']}"]
    if schema["type"] == "array":
        return [e for i, item in enumerate(value) for e in conforms(item, schema["items"], where)]
    if schema["type"] != "object":
        return []
    missing = [f"{where}.{key}: missing" for key in schema.get("required", []) if key not in value]
    extra = [f"{where}.{key}: undocumented" for key in value if key not in schema["properties"]]
    nested = [
        error
        for key, sub in schema["properties"].items()
        if key in value
        for error in conforms(value[key], sub, f"{where}.{key}")
    ]
    return missing + extra + nested


def example_address(path: str, operation: dict[str, Any], project_id: int) -> str:
    query = {}
    for parameter in map(resolve, operation.get("parameters", [])):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(project_id))
        elif parameter.get("required"):
            query[parameter["name"]] = parameter["example"]
    return PREFIX + path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(SPEC["paths"]))
def test_every_documented_path_answers_as_documented(client, path):
    operation = SPEC["paths"][path]["get"]
    project = ProjectFactory()
    face = FaceFactory(image__title="File:Ada Lovelace portrait.jpg")
    ProjectImageFactory(project=project, image=face.image)
    LabelFactory(project=project, face=face, source=Label.Source.MODEL, score=0.9)

    response = client.get(example_address(path, operation, project.pk))

    assert response.status_code == 200
    body = response.json()
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert conforms(body, schema) == []
    assert len(body["suggestions"]) == 1  # the schema of a suggestion was checked too
