#!/usr/bin/env python3
"""Turns CustomResourceDefinitions into the strict JSON schemas that validate.py uses.

    python3 generate.py CRD.yaml...   (writes <kind>-<group>-<version>.json here)

For every served version of every CRD: its openAPIV3Schema with the descriptions
dropped (they are most of the bytes), `additionalProperties: false` added to every
object that lists its properties and neither allows unknown fields
(x-kubernetes-preserve-unknown-fields) nor says what its extra properties are, and
`apiVersion` and `kind` pinned. This is what the API server's structural-schema pruning
and `kubectl apply --validate=strict` do with unknown fields: reject them. Offline and
deterministic: the same CRDs give the same bytes.
"""
import json
import sys
from pathlib import Path

import yaml


def strict(node):
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items() if k != "description"}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def schemas(crd):
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    for version in spec["versions"]:
        if not version.get("served", False):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        props["kind"] = {"type": "string", "enum": [kind]}
        schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
        name = f"{kind.lower()}-{group.split('.')[0]}-{version['name']}.json"
        yield name, schema


def main(paths):
    out = Path(__file__).resolve().parent
    for path in paths:
        with open(path) as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                for name, schema in schemas(crd):
                    text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
                    (out / name).write_text(text + "\n")
                    print(f"{name}: {len(text)} bytes")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
