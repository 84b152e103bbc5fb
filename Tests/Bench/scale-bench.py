#!/usr/bin/env python3
"""`make bench-scale`: what the PostgreSQL layout takes, and what more machines would give.

Everything runs on this machine, on loopback, against a throwaway PostgreSQL 15 cluster started
by Tests/Scripts/throwaway-postgres.sh with fsync ON (a real server's durability).

1. Claims: `artworker jobs bench --claimers 8` queues --queue-jobs no-op jobs, then 8 workers
   (threads with a connection each) claim and finish them at once; jobs/s, on PostgreSQL and,
   side by side, on SQLite. A fresh schema (or file) per run; --rounds runs, medians.
2. Status polls: `artworker serve --workers 0` on PostgreSQL and, side by side, on SQLite; one
   queued conversion each, and wrk with 100 connections on GET /api/v1/conversions/{id} for
   --poll-seconds: first each connection polling every 700 ms, as the job page does (the p99
   the target is about), then as fast as they can (the capacity; wrk shares the 2 cores).
3. Conversions: --conversions 512-px Hayao conversions queued at once, then 1, 2 and 3
   `artworker worker --threads 1` processes start; conversions/s is jobs / (last done − workers
   started, after their models loaded). Then what N machines like this one would do.
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
import uuid

from benchlib import call, conversion_body, cpu_model, free_port, member

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "Scripts", "throwaway-postgres.sh")


def schema_url(base):
    """A fresh, empty schema on the cluster, and the URL that makes it the search path."""
    name = "bench_" + uuid.uuid4().hex
    subprocess.run(["psql", "-q", "-d", base, "-c", f"CREATE SCHEMA {name}"], check=True)
    return base + "?options=-csearch_path%3D" + name


def claims(args, base):
    def rate(command):
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return float(re.search(r"claimed and finished by \d+ workers at once: (\d+) jobs/s", out).group(1))

    results = {"PostgreSQL": [], "SQLite": []}
    with tempfile.TemporaryDirectory(dir=".") as scratch:
        for _ in range(args.rounds):
            common = [args.artworker, "jobs", "bench", "--jobs", str(args.queue_jobs), "--claimers", "8"]
            results["PostgreSQL"].append(rate(common + ["--database-url", schema_url(base)]))
            results["SQLite"].append(rate(common + ["--dir", scratch]))
    print(f"1. {args.queue_jobs} no-op jobs claimed and finished by 8 workers at once ({args.rounds} runs, median; target >= 500/s):")
    for name, rates in results.items():
        print(f"   {name:10s} {statistics.median(rates):7.0f} jobs/s   (runs: {', '.join(f'{r:.0f}' for r in rates)})")
    return statistics.median(results["PostgreSQL"])


def start_web(args, url, data, port):
    """`artworker serve --workers 0` on PostgreSQL (`url`), or on SQLite in `data` (url None)."""
    env = dict(os.environ, ARTWORKER_JWT_SECRET="bench-scale secret, the same on every node", ARTWORKER_BCRYPT_COST="4", ARTWORKER_MAX_QUEUED="200", ARTWORKER_MAX_QUEUED_PER_MEMBER="200",
               ARTWORKER_MAX_CONNECTIONS_PER_ADDRESS="1024", ARTWORKER_EXAMPLES="off",
               ARTWORKER_METRICS_PORT="0")
    if url:
        env["ARTWORKER_DATABASE_URL"] = url
    web = subprocess.Popen([args.artworker, "serve", "--port", str(port), "--data", data, "--workers", "0", "--log-level", "warning"],
                           env=env, stdout=subprocess.PIPE)
    web.stdout.readline()
    return web, env


def wrk(args, url, token, delay_ms=None):
    """wrk with 100 connections: p99 (ms), requests/s and non-2xx answers. With `delay_ms`, each
    connection waits about that long between requests (as a browser polling a job page does)."""
    command = ["wrk", "-t2", "-c100", f"-d{args.poll_seconds}s", "--latency", "-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if delay_ms:
            # Jittered around the pace, so the connections do not fire in lock-step bursts.
            script.write(f"function delay() return math.random({delay_ms // 2}, {delay_ms * 3 // 2}) end\n")
            script.flush()
            command += ["-s", script.name]
        out = subprocess.run(command + [url], check=True, capture_output=True, text=True).stdout
    value, unit = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)", out, re.M).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    rps = float(re.search(r"Requests/sec:\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return p99, rps, int(errors.group(1)) if errors else 0


def polls(args, nodes, photo):
    """Status polls on each backend's node, side by side: 100 clients polling every 700 ms (the
    job page's pace), then 100 connections polling as fast as they can (capacity)."""
    body, headers = conversion_body(photo)
    print(f"2. status polls of a queued conversion, 100 connections, {args.poll_seconds} s each (target p99 < 10 ms):")
    for name, (base, token) in nodes.items():
        job = call(base, "POST", "/api/v1/conversions", body, headers, token)["id"]
        url = f"{base}/api/v1/conversions/{job}"
        paced = wrk(args, url, token, delay_ms=700)
        flat_out = wrk(args, url, token)
        print(f"   {name:10s} every 700 ms: p99 {paced[0]:6.2f} ms ({paced[1]:.0f} requests/s, {paced[2]} non-2xx);  "
              f"as fast as they can: {flat_out[1]:.0f} requests/s, p99 {flat_out[0]:.1f} ms ({flat_out[2]} non-2xx)")
        call(base, "DELETE", f"/api/v1/conversions/{job}", token=token)  # cancelled: the workers of part 3 must not take it


def conversions(args, base, token, photo, env, data):
    body, headers = conversion_body(photo)
    results = {}
    for count in (1, 2, 3):
        rates = []
        for _ in range(args.rounds):
            ids = [call(base, "POST", "/api/v1/conversions", body, headers, token)["id"] for _ in range(args.conversions)]
            workers = [subprocess.Popen([args.artworker, "worker", "--data", data, "--threads", "1", "--kinds", "conversion",
                                         "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL) for _ in range(count)]
            started = time.perf_counter()
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
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(timeout=30)
            rates.append(args.conversions / elapsed)
        results[count] = statistics.median(rates)
        print(f"3. {count} worker(s) x 1 thread: {results[count]:.3f} conversions/s "
              f"({args.conversions} 512-px conversions, {args.rounds} runs, median; includes each worker's start and model load)")
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--artworker", required=True)
    parser.add_argument("--photo", required=True)
    parser.add_argument("--queue-jobs", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--poll-seconds", type=int, default=10)
    parser.add_argument("--conversions", type=int, default=6)
    args = parser.parse_args()

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; PostgreSQL 15 on loopback, fsync on")
    state = tempfile.mktemp(prefix="artworker-bench-pg-")
    started = subprocess.run(["bash", SCRIPT, "start", state], env=dict(os.environ, PG_FSYNC="on"),
                             check=True, capture_output=True, text=True)
    base = started.stdout.strip()
    data = tempfile.mkdtemp(prefix="artworker-bench-scale-")
    web = None
    try:
        claim_rate = claims(args, base)
        with open(args.photo, "rb") as f:
            photo = f.read()
        port, sqlite_port = free_port(), free_port()
        web, env = start_web(args, schema_url(base), data, port)
        sqlite_data = os.path.join(data, "sqlite")
        sqlite_web, _ = start_web(args, None, sqlite_data, sqlite_port)
        web_base, sqlite_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sqlite_port}"
        token = member(web_base)
        polls(args, {"PostgreSQL": (web_base, token), "SQLite": (sqlite_base, member(sqlite_base))}, photo)
        sqlite_web.terminate()
        sqlite_web.wait(timeout=30)
        rates = conversions(args, web_base, token, photo, env, data)
        best = max(rates.values())
        cores = os.cpu_count()
        print(f"Projection: a machine like this one ({cores} cores) converts about {best:.2f} photos/s at 512 px with its best "
              f"layout; N such worker machines about N x {best:.2f}/s, while the queue is far from its limit: each conversion costs "
              f"the database one claim and one finish, and it took {claim_rate:.0f} of those per second here, so about "
              f"{claim_rate / best:.0f} such machines before the queue (not the CPUs) would set the pace.")
    finally:
        if web:
            web.terminate()
            web.wait(timeout=30)
        subprocess.run(["bash", SCRIPT, "stop", state])
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
