#!/usr/bin/env python3
"""`make bench-e2e`: the service end to end, on loopback, against the release build.

1. Upload → result: a 12-megapixel JPEG (4000×3000) posted to POST /api/v1/conversions at the
   default processing size (1280 px long side), timed from the first byte sent until the job
   reports `done` (polled every 20 ms). Median of --runs, with the parts: the POST (upload,
   decode, checks, downscale) and the generator's own time (`duration_ms`).
2. The public gallery page (/explore, 24 thumbnails) under load: wrk for --duration at 16
   connections, once with the converter idle and once while 12 MP conversions run back to back,
   each as first visits (no cookie) and as a returning visitor (its csrf cookie).
"""
import argparse
import io
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np
from PIL import Image


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def twelve_megapixel_jpeg(photo):
    """The photo enlarged to 4000×3000 with sensor-like noise, JPEG q92 (a phone photo's size)."""
    image = Image.open(photo).convert("RGB").resize((4000, 3000), Image.LANCZOS)
    rng = np.random.default_rng(7)
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, 6, (3000, 4000, 3)).astype(np.float32)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=92)
    return out.getvalue()


class Client:
    def __init__(self, base):
        self.base, self.token = base, None

    def call(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                data = response.read()
                return json.loads(data) if response.headers.get("Content-Type") == "application/json" and data else None
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from None

    def json(self, method, path, value):
        return self.call(method, path, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def convert(self, photo, style="hayao", max_side=None):
        boundary = "artworker-bench-boundary"
        parts = [(b'name="style"', style.encode())]
        if max_side:
            parts.append((b'name="max_side"', str(max_side).encode()))
        parts.append((b'name="image"; filename="photo.jpg"', photo))
        body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; " + h + b"\r\n\r\n" + v + b"\r\n"
                        for h, v in parts) + b"--" + boundary.encode() + b"--\r\n"
        return self.call("POST", "/api/v1/conversions", body,
                         {"Content-Type": "multipart/form-data; boundary=" + boundary})["id"]

    def wait(self, job):
        while True:
            status = self.call("GET", f"/api/v1/conversions/{job}")
            if status["status"] not in ("queued", "running"):
                if status["status"] != "done":
                    raise RuntimeError(f"conversion {status['status']}: {status.get('error')}")
                return status["images"]
            time.sleep(0.02)


def serve(artworker, username, env=None):
    """Starts `artworker serve` on a free loopback port with a fresh data folder, waits until it
    answers and signs `username` up and in: (server process, signed-in client, data folder)."""
    data = tempfile.mkdtemp(prefix="artworker-bench-")
    port = free_port()
    server = subprocess.Popen([artworker, "serve", "--port", str(port), "--data", data, "--log-level", "warning"],
                              env={**os.environ, "ARTWORKER_BCRYPT_COST": "4", **(env or {})})
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    c = Client(base)
    c.json("POST", "/api/v1/auth/signup", {"username": username, "password": "a quiet bench river"})
    c.token = c.json("POST", "/api/v1/auth/login", {"username": username, "password": "a quiet bench river"})["token"]
    return server, c, data


def stop(server, data):
    """Stops what `serve` started and removes its data folder."""
    server.terminate()
    server.wait(timeout=60)
    subprocess.run(["rm", "-rf", data])


# A visitor's browser keeps the csrf cookie its first page set (its later pages can be kept);
# wrk without a cookie is a first visit every time (each rendered in full, with a new cookie).
VISITORS = [("first visits", []), ("a returning visitor", ["-H", "Cookie: csrf=e2evisitor"])]


def wrk(url, duration, connections=16, headers=()):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}", "--latency", *headers, url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(bad.group(1)) if bad else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--artworker", required=True)
    parser.add_argument("--photo", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", default="10s")
    args = parser.parse_args()

    photo = twelve_megapixel_jpeg(args.photo)
    print(f"input: 4000×3000 JPEG, {len(photo) / 1e6:.1f} MB; default processing size (1280×960)")
    server, c, data = serve(args.artworker, "e2ebench")
    base = c.base
    try:
        c.wait(c.convert(photo))  # warm-up: loads the model

        totals, posts, generator = [], [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            job = c.convert(photo)
            posts.append(time.perf_counter() - start)
            image = c.wait(job)[0]
            totals.append(time.perf_counter() - start)
            generator.append(c.call("GET", f"/api/v1/images/{image}")["duration_ms"] / 1000)
        print(f"upload → result, median of {args.runs}: {statistics.median(totals):.2f} s "
              f"(min {min(totals):.2f}, max {max(totals):.2f}); of which the POST (upload, decode, checks, "
              f"downscale) {statistics.median(posts):.2f} s and the generator {statistics.median(generator):.2f} s")

        # A public gallery page of 24 shared pictures.
        small = []
        for _ in range(6):
            small += c.wait(c.convert(photo, style="all", max_side=256))
        for image in small[:24]:
            c.call("POST", f"/api/v1/images/{image}/share")

        for who, headers in VISITORS:
            rps, p99, bad = wrk(base + "/explore", args.duration, headers=headers)
            print(f"/explore (24 thumbnails, {who}), 16 connections, converter idle: {rps:,.0f} req/s, p99 {p99}, non-2xx {bad}")
        enough = threading.Event()
        done = []

        def convert_forever():
            while not enough.is_set():
                c.wait(c.convert(photo))
                done.append(1)
        worker = threading.Thread(target=convert_forever)
        worker.start()
        time.sleep(1.0)  # the first conversion is running
        during = []
        for who, headers in VISITORS:
            during.append((who, wrk(base + "/explore", args.duration, headers=headers)))
        enough.set()
        worker.join()
        for who, (rps, p99, bad) in during:
            print(f"/explore (24 thumbnails, {who}), 16 connections, during 12 MP conversions: {rps:,.0f} req/s, "
                  f"p99 {p99}, non-2xx {bad}")
        print(f"({len(done)} conversions finished meanwhile)")
        rss = [l for l in open(f"/proc/{server.pid}/status") if l.startswith("VmHWM")][0].split()[1]
        print(f"server peak RSS: {int(rss) / 1024:.0f} MB")
    finally:
        stop(server, data)


if __name__ == "__main__":
    main()
