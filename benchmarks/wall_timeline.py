"""Wall timeline of ``stereodiff run`` on a shared machine: where one of two cores would idle.

Runs the CLI in this process and samples every 20 ms the process CPU, the threads in state R (running or waiting
for a core, from ``/proc/self/task``) and their Python stacks. The CPU of each interval divided by
min(2, runnable threads) adds up to the wall time the run would take on 2 free cores (an interval with no runnable
thread counts in full: I/O waits); printed per phase of the main thread, with the one-core stretches by thread and
function (docs/geometric.md, "Speed", s14-par and s17-speed). Linux only.

    python benchmarks/wall_timeline.py OUT.json -- run VIDEO --preset cpu -o OUT -q
"""

import json
import os
import sys
import threading
import time
from collections import defaultdict

T0 = time.perf_counter()
CLK = os.sysconf("SC_CLK_TCK")
PHASES = [
    ("write_outputs", "export"),
    ("drop_intermediates", "drop_intermediates"),
    ("save_scene", "save_scene"),
    ("refine", "stage2"),
    ("_band_select", "band_select"),
    ("handle_movers", "movers"),
    ("fuse_pair_depths", "fusion"),
    ("_self_calibrate", "self_calibrate"),
    ("_adaptive_offsets", "adaptive_offsets"),
    ("_looks_ahead", "looks_ahead"),
    ("_intrinsics", "intrinsics"),
    ("_grayscale", "grayscale"),
    ("predict", "pairs"),
    ("global_alignment", "alignment"),
    ("finish", "finish_other"),
    ("reconstruct", "stage1_other"),
    ("_decode", "decode"),
    ("from_config", "load"),
    ("run_video", "run_other"),
]


def stack_names(frame, limit=60):
    names = []
    while frame is not None and len(names) < limit:
        code = frame.f_code
        names.append((code.co_name, code.co_filename))
        frame = frame.f_back
    return names  # innermost first


def label(names):
    fnames = {n for n, _ in names}
    for fn, ph in PHASES:
        if fn in fnames:
            return ph
    return "startup/other"


def inner(names, k=3):
    out = []
    for n, f in names:
        if "stereodiff" in f:
            out.append(f"{os.path.basename(f)}:{n}")
            if len(out) == k:
                break
    if not out and names:
        out.append(f"{os.path.basename(names[0][1])}:{names[0][0]}")
    return " < ".join(out)


samples = []
stop = threading.Event()


def sampler():
    me = threading.get_native_id()
    main_ident = threading.main_thread().ident
    prev_cpu = None
    prev_t = None
    while not stop.is_set():
        t = time.perf_counter()
        st = os.times()
        cpu = st.user + st.system
        running = []
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as fh:
                    s = fh.read()
            except OSError:
                continue
            state = s[s.rindex(")") + 2]
            if state == "R" and int(tid) != me:
                running.append(int(tid))
        frames = sys._current_frames()
        by_native = {th.native_id: th.ident for th in threading.enumerate()}
        main_names = stack_names(frames.get(main_ident))
        run_inner = []
        for tid in running:
            ident = by_native.get(tid)
            names = stack_names(frames.get(ident)) if ident in frames else []
            run_inner.append(("main" if ident == main_ident else "w") + ":" + (inner(names) if names else "native"))
        if prev_cpu is not None:
            samples.append(
                {
                    "t": t - T0,
                    "dt": t - prev_t,
                    "dcpu": cpu - prev_cpu,
                    "nr": len(running),
                    "phase": label(main_names),
                    "main": inner(main_names),
                    "run": run_inner,
                }
            )
        prev_cpu, prev_t = cpu, t
        time.sleep(0.02)


def summarize(samples):
    ph = defaultdict(lambda: [0.0, 0.0, 0, 0, 0.0, 0.0])  # est wall, cpu, n, n<2, first t, last t
    alone = defaultdict(float)
    est_total = cpu_total = 0.0
    for s in samples:
        nr = s["nr"]
        est = s["dt"] if nr == 0 else s["dcpu"] / min(2, nr)
        est = min(est, s["dt"] * 2)
        p = ph[s["phase"]]
        if p[2] == 0:
            p[4] = s["t"]
        p[5] = s["t"]
        p[0] += est
        p[1] += s["dcpu"]
        p[2] += 1
        p[3] += nr < 2
        est_total += est
        cpu_total += s["dcpu"]
        if nr < 2:
            key = s["run"][0] if s["run"] else "none:" + s["main"]
            alone[(s["phase"], key)] += est
    return ph, alone, est_total, cpu_total


def main():
    out = sys.argv[1]
    args = sys.argv[sys.argv.index("--") + 1 :]
    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    from stereodiff.cli.main import main as cli_main

    sys.argv = ["stereodiff", *args]
    rc = 0
    try:
        cli_main()
    except SystemExit as e:
        rc = e.code
    stop.set()
    th.join()
    ph, alone, est_total, cpu_total = summarize(samples)
    st = os.times()
    wall = time.perf_counter() - T0
    efficiency = cpu_total / 2 / max(est_total, 1e-9)
    lines = [
        f"wall {wall:.2f} s  cpu {st.user + st.system:.2f} s  sampled cpu {cpu_total:.2f}  "
        f"est. wall on 2 free cores {est_total:.2f} s  eff {efficiency:.3f}"
    ]
    lines.append(f"{'phase':22s} {'est wall':>8s} {'cpu':>7s} {'<2 run':>7s} {'t0':>7s} {'t1':>7s}")
    for name, (e, c, n, n1, t0, t1) in sorted(ph.items(), key=lambda kv: kv[1][4]):
        lines.append(f"{name:22s} {e:8.2f} {c:7.2f} {100 * n1 / max(n, 1):6.0f}% {t0:7.2f} {t1:7.2f}")
    lines.append("one-core (<2 runnable) est wall by phase/thread:")
    for (p, key), e in sorted(alone.items(), key=lambda kv: -kv[1])[:40]:
        lines.append(f"  {e:6.2f} s  {p:18s} {key}")
    text = "\n".join(lines)
    print(text, file=sys.stderr)
    with open(out, "w") as fh:
        json.dump({"samples": samples, "summary": text}, fh)
    return rc


if __name__ == "__main__":
    sys.exit(main())
