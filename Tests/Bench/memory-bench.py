#!/usr/bin/env python3
"""`make bench-memory`: the server's resident memory with all four models loaded, idle and at the
peak of 12 MP → 1280×960 conversions (issue 16's target: ≤ 600 MB).

The server runs with ARTWORKER_EXAMPLES=off: the home page's examples are made once, at a data
folder's first start, and while they are made they add their own 480-px inferences; what is
measured is a server that has them. A conversion in every style at 256 px loads the four models;
then the peak (VmHWM) is reset and --runs conversions of a 4000×3000 JPEG run one after another at
the default processing size. RSS is sampled every 5 ms to show where the peak falls.
"""
import argparse
import importlib.util
import pathlib
import threading
import time

# The upload, the server and the client are e2e-bench.py's (its name is not an importable module name).
spec = importlib.util.spec_from_file_location("e2e", pathlib.Path(__file__).with_name("e2e-bench.py"))
e2e = importlib.util.module_from_spec(spec)
spec.loader.exec_module(e2e)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--artworker", required=True)
    parser.add_argument("--photo", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    photo = e2e.twelve_megapixel_jpeg(args.photo)
    server, c, data = e2e.serve(args.artworker, "membench", {"ARTWORKER_EXAMPLES": "off"})

    def megabytes(field):
        line = [l for l in open(f"/proc/{server.pid}/status") if l.startswith(field)][0]
        return int(line.split()[1]) // 1024

    try:
        print(f"started, no model loaded: {megabytes('VmRSS')} MB")
        c.wait(c.convert(photo, style="all", max_side=256))
        time.sleep(1)
        print(f"four models loaded, idle: {megabytes('VmRSS')} MB "
              f"(RssAnon {megabytes('RssAnon')} MB, RssFile {megabytes('RssFile')} MB: the program and its libraries)")
        with open(f"/proc/{server.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (Linux ≥ 4.0)
        samples, stop = [], threading.Event()

        def sample():
            start = time.perf_counter()
            while not stop.is_set():
                samples.append((time.perf_counter() - start, megabytes("VmRSS")))
                time.sleep(0.005)
        sampler = threading.Thread(target=sample)
        sampler.start()
        peaks = []
        for _ in range(args.runs):
            c.wait(c.convert(photo))
            peaks.append(megabytes("VmHWM"))
        stop.set()
        sampler.join()
        print(f"peak during {args.runs} conversions of a 12 MP JPEG at 1280×960 (VmHWM after each): "
              + ", ".join(f"{p} MB" for p in peaks))
        # Where the peak falls: the highest sample of each half second of the first conversion.
        first = max(t for t, _ in samples) / args.runs
        bins = {}
        for t, rss in samples:
            if t <= first:
                bins[int(t * 2)] = max(bins.get(int(t * 2), 0), rss)
        print("RSS over the first conversion (s: MB): " + " ".join(f"{k / 2:g}: {v}" for k, v in sorted(bins.items())))
    finally:
        e2e.stop(server, data)


if __name__ == "__main__":
    main()
