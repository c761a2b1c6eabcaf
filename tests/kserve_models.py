"""Run in an environment with the ``kserve`` SDK (not the test environment: it pins pandas
and fastapi below what the project tests with): read each document of a KServe YAML file
into the SDK's models, strictly, and print what was read as JSON.

Each mapping becomes the SDK class its field names (``openapi_types``), built from keyword
arguments, so a field the class does not have, a missing required field (the models'
client-side validation) or a value of the wrong shape fails. Kubernetes' own types
(``V1Container``, ``V1ObjectMeta``) come from the ``kubernetes`` client the SDK depends on.

    python kserve_models.py kserve.yaml
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import kserve.models
import kubernetes.client.models as k8s
import yaml


def build(value: Any, kind: str) -> Any:
    listed = re.fullmatch(r"(?:list\[|List\[)(.+)\]", kind)
    if listed:
        return [build(item, listed.group(1)) for item in value]
    mapped = re.fullmatch(r"(?:dict\(|Dict\[)\s*str,\s*(.+)[\)\]]", kind)
    if mapped:
        return {key: build(item, mapped.group(1)) for key, item in value.items()}
    if kind in ("str", "int", "float", "bool", "object", "datetime"):
        return value
    model = getattr(kserve.models, kind, None) or getattr(k8s, kind, None)
    if model is None:
        raise SystemExit(f"no SDK model {kind}")
    by_key = {key: attribute for attribute, key in model.attribute_map.items()}
    unknown = sorted(set(value) - set(by_key))
    if unknown:
        raise SystemExit(f"{kind} has no field {', '.join(unknown)}")
    arguments = {
        by_key[key]: build(item, model.openapi_types[by_key[key]]) for key, item in value.items()
    }
    return model(**arguments)


def main(path: str) -> None:
    read = []
    with open(path) as stream:
        for document in yaml.safe_load_all(stream):
            kind = {
                "InferenceService": "V1beta1InferenceService",
                "ServingRuntime": "V1alpha1ServingRuntime",
            }[document["kind"]]
            read.append({"class": kind, "object": build(document, kind).to_dict()})
    print(json.dumps(read, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
