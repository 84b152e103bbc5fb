#!/usr/bin/env python3
"""`make bench-attack`: does the server keep serving while it is attacked? (issue 12)

On loopback, against the release build with default settings:
- 4 clients each upload 200 MB anonymously (to the member-only movie upload and to the
  one-photo conversion upload, two each), sending as fast as the server takes it;
- 4 clients trickle bodies, one byte every 2 s, to the upload routes;
- meanwhile a normal visitor fetches the home page every 100 ms.
It reports the server's peak resident memory (VmHWM), what the attackers were answered, and the
home page's latency (median, p95, max). Targets: peak RSS under 400 MB, pages under 100 ms.
Standard library only.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_of(sock):
    """The status code of the first response on `sock`, or None."""
    data = b""
    sock.settimeout(5)
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def uploader(port, path, size, results, source):
    """Sends a `size`-byte multipart body as fast as the server reads it."""
    sock = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
    head = (f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    sent = 0
    try:
        sock.sendall(head)
        block = b"\0" * (1 << 20)
        sock.settimeout(10)
        while sent < size:
            sent += sock.send(block[: min(len(block), size - sent)])
    except OSError:
        pass  # refused and closed: the point
    results.append((path, "upload", status_of(sock), sent))
    sock.close()


def trickler(port, path, seconds, results, source):
    sock = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
    sock.sendall((f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                  f"Content-Length: 1000\r\n\r\n").encode())
    started, sent = time.time(), 0
    try:
        while time.time() - started < seconds:
            sock.send(b"-")
            sent += 1
            time.sleep(2)
    except OSError:
        pass  # cut off
    results.append((path, f"trickle, cut after {time.time() - started:.0f} s", status_of(sock), sent))
    sock.close()


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--artworker", required=True)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    port = free_port()
    data = tempfile.mkdtemp(prefix="artworker-attack-")
    server = subprocess.Popen([args.artworker, "serve", "--port", str(port), "--data", data, "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        baseline = peak_rss_mb(server.pid)
        results, threads = [], []
        for i, path in enumerate(["/api/v1/movies", "/movies", "/cartoonize", "/api/v1/conversions"]):
            threads.append(threading.Thread(target=uploader, args=(port, path, 200_000_000, results, f"127.0.1.{i + 1}")))
            threads.append(threading.Thread(target=trickler, args=(port, path, args.seconds, results, f"127.0.2.{i + 1}")))
        for t in threads:
            t.start()
        latencies = []
        started = time.time()
        while time.time() - started < args.seconds:
            t0 = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), source_address=("127.0.3.1", 0)) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                body = b""
                while chunk := s.recv(65536):
                    body += chunk
            latencies.append((time.perf_counter() - t0) * 1000)
            assert body.startswith(b"HTTP/1.1 200"), body[:80]
            time.sleep(0.1)
        for t in threads:
            t.join()
        peak = peak_rss_mb(server.pid)
        print(f"server RSS at start {baseline:.0f} MB, peak during the attack {peak:.0f} MB (target < 400)")
        for path, kind, status, sent in sorted(results):
            print(f"  {kind:>24} {path:<22} answered {status}, {sent / 1e6:.1f} MB sent")
        latencies.sort()
        print(f"home page during the attack: {len(latencies)} requests, median {statistics.median(latencies):.1f} ms, "
              f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f} ms, max {latencies[-1]:.1f} ms (target < 100)")
        ok = peak < 400 and latencies[-1] < 100
        print("bench-attack:", "within targets" if ok else "OVER TARGET")
    finally:
        server.terminate()
        server.wait(timeout=20)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
