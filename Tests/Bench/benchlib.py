"""Helpers the queue benchmarks share (jobs-bench.py, scale-bench.py): ports, the CPU's name,
JSON calls to the service, and a conversion's multipart body."""
import json
import platform
import socket
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def call(base, method, path, body=None, headers=None, token=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            data = response.read()
            return json.loads(data) if response.headers.get("Content-Type") == "application/json" and data else data
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from None


def conversion_body(photo):
    boundary = "artworker-bench-boundary"
    parts = [(b'name="style"', b"hayao"), (b'name="max_side"', b"512"), (b'name="image"; filename="photo.png"', photo)]
    body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; " + h + b"\r\n\r\n" + v + b"\r\n"
                    for h, v in parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, {"Content-Type": "multipart/form-data; boundary=" + boundary}


def member(base):
    """Signs up the benchmark's member and returns a session token."""
    credentials = json.dumps({"username": "bench", "password": "a long enough secret phrase"}).encode()
    call(base, "POST", "/api/v1/auth/signup", credentials, {"Content-Type": "application/json"})
    return call(base, "POST", "/api/v1/auth/login", credentials, {"Content-Type": "application/json"})["token"]
