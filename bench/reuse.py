"""Reuse of unchanged cells, timed on the default matrix: what a second ``tox -p`` costs.

    python bench/reuse.py                      # a first run into an empty store, then the three below
    python bench/reuse.py --warm --first-seconds 364   # the store of the run just made (CI: after `tox -p`)

Times ``tox -p`` (the whole default run: zoo, runtimes, compare, report):
1. nothing changed (every runtime case reused);
2. after editing expectations.yaml only (a rule's reason: every case reused, settled against the new rule);
3. after one model's files change (a file added to a zoo model): only that model's cases run again.

Prints each wall time, its ratio to the first run's (target: 1 and 2 at most 10 %), and, per runtime, how many
cases ran again and of which models (3: only the changed one). Restores expectations.yaml and the model.
Exits 1 when reuse is wrong (a case of an unchanged model ran again, or the changed model's did not), never
on a timing.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from conformance.observations import read_run  # noqa: E402
from conformance.run_ids import new_run_id  # noqa: E402

TARGET = 0.10
CHANGED_MODEL = "hazard"  # a zoo model of the default matrix, run by every runtime


def tox_p(env):
    run_id = new_run_id()
    started = time.perf_counter()
    done = subprocess.run(["tox", "-p", "-q"], cwd=ROOT, env=dict(env, CONFORMANCE_RUN_ID=run_id),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit("bench: tox -p failed (exit %d):\n%s" % (done.returncode, done.stdout[-3000:]))
    return seconds, run_id


def ran_again(run_id):
    """Per runtime: the models whose cases ran (were not reused), with how many cases."""
    found = collections.defaultdict(collections.Counter)
    for _, document in read_run(os.path.join(ROOT, "reports"), run_id):
        if document.get("runtime") == "compare":
            continue
        for entry in document["cases"].values():
            if not entry.get("reused_from") and entry.get("status") != "skip":
                found[document.get("runtime")][entry.get("model")] += 1
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", action="store_true", help="use the user's store, filled by the run just made")
    parser.add_argument("--first-seconds", type=float, help="with --warm: that run's wall seconds")
    options = parser.parse_args()
    env = dict(os.environ)
    env.pop("CONFORMANCE_FRESH", None)
    if options.warm:
        if not options.first_seconds:
            parser.error("--warm needs --first-seconds")
        first = options.first_seconds
    else:
        env["CONFORMANCE_REUSE_DIR"] = tempfile.mkdtemp(prefix="hub-conformance-reuse-bench-")
        first, _ = tox_p(env)
    print("first run: %.0f s%s" % (first, " (given: if it built envs or the zoo, the ratios below look better than "
                                          "they are)" if options.warm else ""))

    rows = []
    seconds, run_id = tox_p(env)
    rows.append(("nothing changed", seconds, run_id))

    path = os.path.join(ROOT, "expectations.yaml")
    with open(path) as stream:
        original = stream.read()
    try:
        with open(path, "w") as stream:
            stream.write(original.replace("\n  status: fail\n", "\n  status: fail\n  link: https://example.invalid/edited\n", 1))
        seconds, run_id = tox_p(env)
        rows.append(("expectations.yaml edited", seconds, run_id))
    finally:
        with open(path, "w") as stream:
            stream.write(original)

    zoo = os.environ.get("CONFORMANCE_ZOO_DIR") or os.path.join(ROOT, ".zoo")
    planted = os.path.join(zoo, CHANGED_MODEL, "assets", "bench-reuse.txt")
    os.makedirs(os.path.dirname(planted), exist_ok=True)
    made_assets = not os.listdir(os.path.dirname(planted))
    try:
        with open(planted, "w") as stream:
            stream.write("a changed file %f\n" % time.time())
        seconds, run_id = tox_p(env)
        rows.append(("one model's files changed (%s)" % CHANGED_MODEL, seconds, run_id))
    finally:
        os.remove(planted)
        if made_assets:
            os.rmdir(os.path.dirname(planted))

    figures, wrong = [], []
    for label, seconds, run_id in rows:
        again = ran_again(run_id)
        models = sorted({model for counts in again.values() for model in counts})
        cases = sum(sum(counts.values()) for counts in again.values())
        ok = seconds / first <= TARGET if "model" not in label else models in ([], [CHANGED_MODEL])
        if ("model" in label and models != [CHANGED_MODEL]) or ("model" not in label and models):
            wrong.append("%s: cases of %s ran again" % (label, ", ".join(models) or "no model"))
        print("%-40s %6.1f s  %5.1f %% of the first  ran again: %d cases%s  %s" % (
            label, seconds, 100 * seconds / first, cases, " of %s" % ", ".join(models) if models else "",
            "ok" if ok else "ABOVE TARGET" if "model" not in label else "OTHER MODELS RAN"))
        figures.append({"label": label, "seconds": round(seconds, 1), "ratio": round(seconds / first, 3),
                        "ran_again": {runtime: dict(counts) for runtime, counts in again.items()}})
    print(json.dumps({"first_seconds": round(first, 1), "runs": figures}))
    if wrong:  # not a timing: the key or the store is wrong
        sys.exit("bench: reuse is wrong: %s" % "; ".join(wrong))


if __name__ == "__main__":
    main()
