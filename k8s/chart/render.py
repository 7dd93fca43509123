#!/usr/bin/env python3
"""Render the Paydeck chart as `helm template` would, with Helm's own engine (Helm v4's Go SDK,
from the helm-python-sdk package): values files merged in order (`-f a.yaml -f b.yaml`), the
merged values checked against values.schema.json, then every template rendered and printed as
one multi-document YAML stream. `--lint` runs `helm lint --strict` instead.

A value the schema refuses prints Helm's message on stderr and exits 2, rendering nothing.

    render.py [--values FILE]... [--set-json JSON] [--name paydeck] [--namespace paydeck] [--lint]
"""

import argparse
import json
import pathlib
import sys

import helm_python as helm

CHART = pathlib.Path(__file__).resolve().parent / "paydeck"


def merged(base: dict, override: dict) -> dict:
    """Helm's -f semantics: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", "-f", action="append", default=[])
    parser.add_argument("--set-json", action="append", default=[], help="a JSON object merged last")
    parser.add_argument("--name", default="paydeck")
    parser.add_argument("--namespace", default="paydeck")
    parser.add_argument("--lint", action="store_true")
    args = parser.parse_args()

    values: dict = {}
    for path in args.values:
        values = merged(values, helm.values_from_yaml(pathlib.Path(path).read_text()) or {})
    for text in args.set_json:
        values = merged(values, json.loads(text))

    if args.lint:
        report = helm.lint(str(CHART), values, strict=True, namespace=args.namespace)
        problems = [m for m in report["messages"] if m["severity"] >= 2] + report.get("errors", [])
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0

    with helm.Chart.load(str(CHART)) as chart:
        try:
            chart.validate_schema(chart.merge_values(values))
            manifests = chart.render(values, name=args.name, namespace=args.namespace, is_install=True)
        except helm.HelmError as error:
            print(f"the chart's values were refused: {error}", file=sys.stderr)
            return 2
    for path in sorted(manifests):
        text = manifests[path].strip()
        # NOTES.txt is shown to the installer, not applied; empty templates render nothing.
        if path.endswith("NOTES.txt") or not any(
            line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()
        ):
            continue
        print(f"---\n# Source: {path}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
