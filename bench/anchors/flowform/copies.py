"""The donut shop (flowform.yaml), N copies in one config, for scripts/bench.sh:

    python copies.py flowform.yaml N > shop-N.yaml

Topics, queues and functions are copied with a `_<i>` suffix (routes under `/<i>`); the
databases, endpoints, secrets, authorizers and email stay shared, as in the CDK and SAM
equivalents. Over one stack's 500 resources the copy sets `nested_stacks` (about 250
resources a nested stack), as a user would.
"""

import json
import sys

import yaml

src = yaml.safe_load(open(sys.argv[1]))
n = int(sys.argv[2])
out = {k: v for k, v in src.items() if k not in ("topics", "queues", "functions", "stages")}
out["stages"] = {"dev": {}}
if n > 1:
    out["nested_stacks"] = (84 * n + 249) // 250
topics, queues, functions = {}, {}, {}


def rename(name: str, i: int) -> str:
    return f"{name}_{i}" if n > 1 else name


for i in range(n):
    for t, spec in src["topics"].items():
        topics[rename(t, i)] = spec
    for q, spec in src["queues"].items():
        spec = json.loads(json.dumps(spec))
        subscribe = []
        for s in spec.get("subscribe", []):
            if isinstance(s, str):
                subscribe.append(rename(s, i))
            else:
                s["topic"] = rename(s["topic"], i)
                subscribe.append(s)
        spec["subscribe"] = subscribe
        queues[rename(q, i)] = spec
    for f, spec in src["functions"].items():
        spec = json.loads(json.dumps(spec))
        spec.setdefault("handler", f.replace("_", "-"))
        trigger = spec["trigger"]
        if "queue" in trigger:
            trigger["queue"] = rename(trigger["queue"], i)
        if "http" in trigger and n > 1:
            trigger["http"]["routes"] = [r.replace(" /", f" /{i}/", 1) for r in trigger["http"]["routes"]]
        if n > 1:
            spec["callbacks"] = [r.replace(" /", f" /{i}/", 1) for r in spec.get("callbacks", [])]
        spec["publishes"] = [rename(t, i) for t in spec.get("publishes", [])]
        functions[rename(f, i)] = spec
out["topics"], out["queues"], out["functions"] = topics, queues, functions
class NoAliases(yaml.SafeDumper):
    """flowform refuses YAML anchors: write each copy out in full."""

    def ignore_aliases(self, data) -> bool:  # type: ignore[no-untyped-def]
        return True


yaml.dump(out, sys.stdout, Dumper=NoAliases, sort_keys=False)
