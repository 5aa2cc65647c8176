"""How long ``python -m conformance check`` takes on a large matrix.

    python bench/check_scale.py [--models 8000]

Writes a matrix of N models (the shipped runtimes, ``{zoo}`` handles, each model with inputs and fetch)
and the shipped expectations plus a few dozen model-specific rules into a temporary directory, then
prints the wall time of loading the matrix and of ``check`` as a whole.
"""
import argparse
import contextlib
import io
import os
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from conformance.__main__ import main as conformance_main  # noqa: E402
from conformance.matrix import load_matrix  # noqa: E402


def _write_matrix(directory: str, count: int) -> str:
    with open(os.path.join(ROOT, "matrix.yaml")) as stream:
        shipped = yaml.safe_load(stream)
    models = []
    for index in range(count):
        models.append({
            "id": "model_%05d" % index, "handle": "{zoo}/model_%05d" % index, "format": "hub_tf1",
            "tags": [], "signatures": ["default", "extra"], "reference": "tf1.15-graph",
            "fetch": {"default": ["default"]},
            "inputs": {"default": {"x": {"shape": [2, 2], "values": [[1.0, 2.0], [3.0, 4.0]]}}},
        })
    matrix = {"expectations": ["expectations.yaml", "scale_expectations.yaml"], "runtimes": shipped["runtimes"],
              "models": models}
    with open(os.path.join(directory, "matrix.yaml"), "w") as stream:
        yaml.safe_dump(matrix, stream, sort_keys=False)
    shipped_expectations = [e for e in yaml.safe_load(open(os.path.join(ROOT, "expectations.yaml")))
                            if "model" not in e["match"]]
    with open(os.path.join(directory, "expectations.yaml"), "w") as stream:
        yaml.safe_dump(shipped_expectations, stream, sort_keys=False)
    rules = [{"match": {"model": ["model_%05d" % (index * count // 40), "model_%05d*" % (count - 1 - index)],
                        "device": "xla"}, "status": "fail", "reason": "planted rule %d" % index}
             for index in range(40)]
    with open(os.path.join(directory, "scale_expectations.yaml"), "w") as stream:
        yaml.safe_dump(rules, stream, sort_keys=False)
    return os.path.join(directory, "matrix.yaml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="check-scale-") as directory:
        path = _write_matrix(directory, args.models)
        started = time.perf_counter()
        load_matrix(path)
        loaded = time.perf_counter() - started
        output = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(output):
            status = conformance_main(["--matrix", path, "check"])
        checked = time.perf_counter() - started
    print("%d models: load_matrix %.1fs, check %.1fs (exit %d)" % (args.models, loaded, checked, status))
    print(output.getvalue().strip().splitlines()[-1])


if __name__ == "__main__":
    main()
