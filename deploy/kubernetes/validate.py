#!/usr/bin/env python3
"""Strict validation of rendered manifests, for what `kubernetes-validate` cannot see.

    python3 validate.py [--kubernetes-version 1.37.0] RENDERED.yaml...

`kubernetes-validate --strict` checks the built-in kinds and only warns (exit 0) about a
kind it has no schema for. This script closes that gap:
  * an object of a custom resource kind (KServe, Prometheus Operator) is validated against
    the strict schema in schemas/ (generated from the CRD by schemas/generate.py), its
    metadata against the Kubernetes ObjectMeta schema;
  * an object of any other kind must have a schema in kubernetes-validate, so nothing is
    skipped silently.
Prints one line per object and exits 1 if any object fails.
"""
import argparse
import json
import re
import sys
from pathlib import Path

import importlib_resources
import jsonschema
import kubernetes_validate
import yaml

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def schema_name(obj):
    group, _, version = obj["apiVersion"].rpartition("/")
    return f"{obj['kind'].lower()}-{group.split('.')[0]}-{version}.json"


def object_meta(version):
    base = importlib_resources.files("kubernetes_validate") / "kubernetes-json-schema"
    defs = json.loads((base / f"v{version}-local-strict" / "_definitions.json").read_text())
    # ObjectMeta, with the definitions its internal references (#/$defs/...) point into.
    meta = dict(defs["$defs"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"])
    meta["$defs"] = defs["$defs"]
    return meta


def check_custom(obj, schema_file, meta_schema):
    schema = json.loads(schema_file.read_text())
    errors = [e.message + " at " + "/".join(map(str, e.path))
              for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
    errors += ["metadata: " + e.message + " at " + "/".join(map(str, e.path))
               for e in jsonschema.Draft202012Validator(meta_schema).iter_errors(obj["metadata"])]
    return errors


def check_builtin(obj, version):
    try:
        kubernetes_validate.validate(obj, version, strict=True)
        return []
    except kubernetes_validate.utils.SchemaNotFoundError as e:
        return [e.message]
    except kubernetes_validate.ValidationError as e:
        return [e.message + " at " + "/".join(map(str, e.path))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", "--kubernetes-version", default=kubernetes_validate.utils.latest_version())
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    version = args.kubernetes_version
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        version += ".0"
    meta_schema = object_meta(version)
    failed = checked = 0
    for path in args.files:
        with open(path) as f:
            objects = [o for o in yaml.safe_load_all(f) if o]
        for obj in objects:
            schema_file = SCHEMAS / schema_name(obj)
            custom = schema_file.is_file()
            errors = (check_custom(obj, schema_file, meta_schema) if custom
                      else check_builtin(obj, version))
            what = f"{path}: {obj['kind']}/{obj['metadata'].get('name')}"
            how = f"schemas/{schema_file.name}" if custom else f"Kubernetes {version}"
            checked += 1
            if errors:
                failed += 1
                print(f"FAIL {what} against {how}:")
                for e in errors:
                    print(f"     {e}")
            else:
                print(f"ok   {what} against {how} (strict)")
    print(f"{checked} objects, {failed} failed")
    sys.exit(1 if failed or not checked else 0)


if __name__ == "__main__":
    main()
