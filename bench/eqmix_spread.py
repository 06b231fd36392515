#!/usr/bin/env python3
"""bench/eqmix_spread.py: the eqmix comparison of scripts/bench, repeated until its spread shows.

scripts/bench keeps the median of 3 runs (quick: 1), which on a shared 2-core VM swings from 0.5 to
2.3. This runs the very same pipelines (scripts/bench's eqmix_descs: two 256-frame audiotestsrc
channels through djeq + djmixer, through equalizer-3bands + audiomixer, and the sources alone into
fakesinks) for N rounds. Each round runs every pipeline once, in a rotating order so that no side
always follows the other; a side's net CPU in a round is its CPU less the sources' in the same
round. It prints, per side, the median and the spread (min, quartiles, max) of the net CPU, its
user and system parts and the context switches per second of audio, then the ratio ours / stock
per round (median, spread) and the ratio of the medians.

  flock /tmp/dju-cpu.lock bench/eqmix_spread.py --rounds 9 --seconds 60
  bench/eqmix_spread.py --variant 'big=djmixer output-buffer-duration=20000000 …'   # an extra side
  bench/eqmix_spread.py --json /tmp/spread.json                                     # every run
  bench/eqmix_spread.py --baseline OTHER_BUILD      # also "ours" with OTHER_BUILD/gst's plugin
                                                    # (e.g. an older commit's build), same rounds

It asserts nothing and is not part of the test suite. The CPU figures come from dju-bench-pipeline
(getrusage of the process, PLAYING to EOS).
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_bench():
    path = os.path.join(ROOT, "scripts", "bench")
    loader = importlib.machinery.SourceFileLoader("dju_bench", path)
    spec = importlib.util.spec_from_loader("dju_bench", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def quartiles(xs):
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0], xs[0], xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return xs[0], q[0], q[1], q[2], xs[-1]


def run_pipeline(bench, desc, env=None):
    """scripts/bench's pipeline(), with another environment (plugin path) when given."""
    if env is None:
        return bench.pipeline(desc)
    exe = os.path.join(bench.BUILD, "tests", "bench", "dju-bench-pipeline")
    rc, out, err, _, _ = bench.run_measured([exe, "--timeout", "300", desc], 315, env=env)
    try:
        r = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SystemExit(f"dju-bench-pipeline exited {rc} with no result: {err.strip()[-300:]}")
    if "error" in r:
        raise SystemExit(r["error"])
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=60.0, help="audio per run (scripts/bench: 120, quick 20)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=PIPELINE",
                    help="another side to run in every round (its sink must be named sink)")
    ap.add_argument("--only", default="", help="comma-separated sides to run (base is always run)")
    ap.add_argument("--json", help="write every run here")
    ap.add_argument("--baseline", metavar="BUILD_DIR",
                    help="add a side 'before': ours with the djuniverse plugin of another build")
    args = ap.parse_args()

    bench = load_bench()
    descs = bench.eqmix_descs(args.seconds)
    for v in args.variant:
        name, _, desc = v.partition("=")
        descs[name] = desc
    if args.only:
        keep = {"base"} | set(args.only.split(","))
        descs = {k: d for k, d in descs.items() if k in keep}
    envs = {}
    if args.baseline:
        descs["before"] = descs["ours"]
        env = bench.bench_env()
        env["GST_PLUGIN_PATH_1_0"] = os.path.join(os.path.abspath(args.baseline), "gst")
        env["GST_REGISTRY_1_0"] = os.path.join(os.path.abspath(args.baseline), "bench-registry.bin")
        envs["before"] = env
    names = list(descs)
    runs = {k: [] for k in names}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for k in order:
            runs[k].append(run_pipeline(bench, descs[k], envs.get(k)))
        line = "  ".join(f"{k} {runs[k][-1]['cpu_s']:.3f}" for k in names)
        print(f"round {r + 1}/{args.rounds}: cpu s  {line}", file=sys.stderr, flush=True)

    audio = args.seconds
    print(f"\n{args.rounds} rounds, {audio:g} s of audio per run; net = CPU less the sources' in the same round")
    print(f"{'side':<10} {'net CPU s: median':>18} {'min':>7} {'q1':>7} {'q3':>7} {'max':>7}"
          f" {'user':>7} {'sys':>7} {'vcsw/s':>8} {'x rt':>7}")
    base = runs["base"]
    net = {}
    for k in names:
        if k == "base":
            vals = [r["cpu_s"] for r in base]
        else:
            vals = [max(r["cpu_s"] - b["cpu_s"], 1e-6) for r, b in zip(runs[k], base)]
        net[k] = vals
        lo, q1, med, q3, hi = quartiles(vals)
        user = statistics.median(r["user_s"] for r in runs[k])
        sys_s = statistics.median(r["sys_s"] for r in runs[k])
        vcsw = statistics.median(r["voluntary_switches"] for r in runs[k]) / audio
        label = "(gross)" if k == "base" else ""
        print(f"{k + label:<10} {med:>18.3f} {lo:>7.3f} {q1:>7.3f} {q3:>7.3f} {hi:>7.3f}"
              f" {user:>7.3f} {sys_s:>7.3f} {vcsw:>8.0f} {audio / med:>7.0f}")
    if "stock" in net:
        for k in names:
            if k in ("base", "stock"):
                continue
            ratios = [o / s for o, s in zip(net[k], net["stock"])]
            lo, q1, med, q3, hi = quartiles(ratios)
            print(f"{k} / stock per round: median {med:.3f}  (min {lo:.3f}, q1 {q1:.3f}, q3 {q3:.3f}, max {hi:.3f});"
                  f" ratio of the medians {statistics.median(net[k]) / statistics.median(net['stock']):.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seconds": audio, "descriptions": descs, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
