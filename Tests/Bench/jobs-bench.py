#!/usr/bin/env python3
"""`make bench-jobs`: what the durable queue costs, and how to spend two cores on workers.

1. Queue overhead: `artworker jobs bench` submits, claims and finishes no-op jobs one after
   another (three durable SQLite commits each) and reports the medians and p99.
2. Workers: a web-only `artworker serve --workers 0` and, in turn, two `artworker worker
   --threads 1` processes or one `artworker worker --threads 2`, each running --jobs real
   512-px Hayao conversions queued at once. Conversions/s is jobs / (last done − first
   submitted). Meanwhile a client loads the home page every 50 ms and the p99 of its latency
   is reported. The two layouts alternate for --rounds rounds; medians are reported.
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time

from benchlib import call, conversion_body, cpu_model, free_port, member


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_layout(args, base, token, photo, data, layout):
    """Starts the workers of `layout`, converts --jobs photos, stops the workers."""
    env = dict(os.environ, ARTWORKER_MAX_QUEUED="100", ARTWORKER_MAX_QUEUED_PER_MEMBER="100")
    if layout == "2 workers x 1 thread":
        commands = [[args.artworker, "worker", "--data", data, "--threads", "1", "--kinds", "conversion", "--log-level", "warning"]] * 2
    else:
        commands = [[args.artworker, "worker", "--data", data, "--threads", "2", "--kinds", "conversion", "--log-level", "warning"]]
    workers = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL) for c in commands]
    time.sleep(args.warmup)  # models loaded before the clock starts (workers load them before their first claim)
    latencies, stop = [], threading.Event()

    def visitor():
        while not stop.is_set():
            t = time.perf_counter()
            call(base, "GET", "/")
            latencies.append((time.perf_counter() - t) * 1000)
            stop.wait(0.05)

    body, headers = conversion_body(photo)
    started = time.perf_counter()
    ids = [call(base, "POST", "/api/v1/conversions", body, headers, token)["id"] for _ in range(args.jobs)]
    watcher = threading.Thread(target=visitor)
    watcher.start()
    pending = set(ids)
    while pending:
        for job in list(pending):
            status = call(base, "GET", f"/api/v1/conversions/{job}", token=token)
            if status["status"] == "done":
                pending.discard(job)
            elif status["status"] not in ("queued", "running"):
                raise RuntimeError(f"conversion {status['status']}: {status.get('error')}")
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    watcher.join()
    for w in workers:
        w.terminate()
    for w in workers:
        if w.wait(timeout=30) != 0:
            raise RuntimeError("a worker did not exit 0 on SIGTERM")
    return args.jobs / elapsed, percentile(latencies, 0.99), statistics.median(latencies)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--artworker", required=True)
    parser.add_argument("--photo", required=True)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--queue-jobs", type=int, default=500)
    args = parser.parse_args()

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(dir=".") as scratch:
        print(subprocess.run([args.artworker, "jobs", "bench", "--jobs", str(args.queue_jobs), "--dir", scratch],
                             check=True, capture_output=True, text=True).stdout, end="")

    with open(args.photo, "rb") as f:
        photo = f.read()
    data = tempfile.mkdtemp(prefix="artworker-bench-jobs-")
    port = free_port()
    web = subprocess.Popen([args.artworker, "serve", "--port", str(port), "--data", data, "--workers", "0", "--log-level", "warning"],
                           env=dict(os.environ, ARTWORKER_BCRYPT_COST="4", ARTWORKER_MAX_QUEUED="100",
                                    ARTWORKER_MAX_QUEUED_PER_MEMBER="100"), stdout=subprocess.PIPE)
    try:
        web.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        token = member(base)
        layouts = ["2 workers x 1 thread", "1 worker x 2 threads"]
        results = {layout: [] for layout in layouts}
        for round_number in range(args.rounds):
            for layout in (layouts if round_number % 2 == 0 else layouts[::-1]):
                rate, p99, median = run_layout(args, base, token, photo, data, layout)
                results[layout].append((rate, p99, median))
                print(f"  round {round_number + 1}, {layout}: {rate:.3f} conversions/s, home page p99 {p99:.1f} ms (median {median:.1f} ms)")
        print(f"{args.jobs} conversions of a 512-px photo (hayao) per run, {args.rounds} rounds, medians:")
        for layout in layouts:
            rates = [r[0] for r in results[layout]]
            p99s = [r[1] for r in results[layout]]
            print(f"  {layout}: {statistics.median(rates):.3f} conversions/s, home page p99 {statistics.median(p99s):.1f} ms")
        a, b = (statistics.median([r[0] for r in results[l]]) for l in layouts)
        print(f"  ratio (2 x 1 thread) / (1 x 2 threads): {a / b:.2f}")
    finally:
        web.terminate()
        web.wait(timeout=30)
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
