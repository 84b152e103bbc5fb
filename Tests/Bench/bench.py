#!/usr/bin/env python3
"""`make bench`: Artworker's generator against ONNX Runtime (CPU) and OpenVINO (CPU, f32) on the
same CartoonGAN model, same thread count, same protocol: warm-ups, then the median of several
single-image runs. Each engine and size runs in its own process, so peak RSS is per run.

Two builds of Artworker are compared: this machine's own (`-target-cpu native`: AVX-512 where
the CPU has it) and the AVX2 one (`x86-64-v3`), each beside OpenVINO allowed the same
instructions (`ONEDNN_MAX_CPU_ISA` / `OV_CPU_MAX_ISA` = AVX2 for the latter). ONNX Runtime has no
such switch and runs once. Then both builds' per-layer times at the largest size.

The ONNX graph is built here from the published .npy weights with the `onnx` package, and checked
against a golden reference output before anything is timed.
"""
import argparse, json, os, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def build_onnx(weights_dir, path):
    import numpy as np, onnx
    from onnx import helper, numpy_helper, TensorProto
    nodes, inits, n = [], [], [0]

    def w(name):
        arr = np.load(os.path.join(weights_dir, name + ".npy")).astype(np.float32)
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def fresh():
        n[0] += 1
        return f"t{n[0]}"

    def pad(x, p):
        pads = helper.make_tensor(fresh(), TensorProto.INT64, [8], [0, 0, p, p, 0, 0, p, p])
        inits.append(pads)
        out = fresh()
        nodes.append(helper.make_node("Pad", [x, pads.name], [out], mode="reflect"))
        return out

    def conv(x, name, k, stride=1):
        out = fresh()
        nodes.append(helper.make_node("Conv", [pad(x, k // 2), w(name + ".weight"), w(name + ".bias")], [out],
                                      kernel_shape=[k, k], strides=[stride, stride]))
        return out

    def norm(x, name, relu=True):
        # ONNX's op divides by sqrt(var + eps); with eps = 1e-18 that equals CartoonGAN's
        # (std + 1e-9) to float precision, and it is the engines' fastest normalisation.
        out = fresh()
        nodes.append(helper.make_node("InstanceNormalization", [x, w(name + ".scale"), w(name + ".shift")], [out],
                                      epsilon=1e-18))
        if not relu:
            return out
        r = fresh()
        nodes.append(helper.make_node("Relu", [out], [r]))
        return r

    def deconv(x, name):
        out = fresh()
        nodes.append(helper.make_node("ConvTranspose", [x, w(name + ".weight"), w(name + ".bias")], [out],
                                      kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]))
        return out

    x = norm(conv("x", "conv01_1", 7), "in01_1")
    x = norm(conv(conv(x, "conv02_1", 3, 2), "conv02_2", 3), "in02_1")
    x = norm(conv(conv(x, "conv03_1", 3, 2), "conv03_2", 3), "in03_1")
    for i in range(4, 12):
        t = norm(conv(x, f"conv{i:02d}_1", 3), f"in{i:02d}_1")
        t = norm(conv(t, f"conv{i:02d}_2", 3), f"in{i:02d}_2", relu=False)
        s = fresh()
        nodes.append(helper.make_node("Add", [t, x], [s]))
        x = s
    x = norm(conv(deconv(x, "deconv01_1"), "deconv01_2", 3), "in12_1")
    x = norm(conv(deconv(x, "deconv02_1"), "deconv02_2", 3), "in13_1")
    x = conv(x, "deconv03_1", 7)
    nodes.append(helper.make_node("Tanh", [x], ["y"]))
    graph = helper.make_graph(nodes, "cartoongan",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "H2", "W2"])], inits)
    # IR version 8 (opset 17): readable by every ONNX Runtime and OpenVINO of recent years.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def make_runner(engine, model_path, h, w, threads):
    import numpy as np
    if engine == "onnxruntime":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
        return lambda x: session.run(["y"], {"x": x})[0]
    import openvino as ov
    core = ov.Core()
    model = core.read_model(model_path)
    model.reshape({"x": [1, 3, h, w]})
    # Without the f32 hint OpenVINO silently computes in bf16 on this CPU.
    compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                 "INFERENCE_PRECISION_HINT": "f32",
                                                 "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()
    return lambda x: request.infer({"x": x})[compiled.output(0)]


def input_tensor(h, w):
    # The same deterministic input as `artworker bench` (BGR planes, 0...255).
    import numpy as np
    y, x = np.mgrid[0:h, 0:w]
    planes = [((x * (c + 1) + y * (3 - c) + (x * y) % 17 * 7) % 256) for c in range(3)]
    return np.stack(planes)[None].astype(np.float32)


def run_engine(args):
    import numpy as np
    w, h = map(int, args.size.split("x"))
    run = make_runner(args.engine, args.model, h, w, args.threads)
    x = input_tensor(h, w)
    for _ in range(args.warmups):
        run(x)
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    gflop = 2 * 829824 * h * w / 1e9 if h % 4 == 0 and w % 4 == 0 else None
    print(json.dumps({"engine": args.engine, "size": args.size, "threads": args.threads, "median_s": median,
                      "runs": times, "gflop": gflop, "gflops": gflop / median if gflop else None,
                      "peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb():
    # VmHWM is this process's own high-water mark; ru_maxrss would include the parent's memory
    # from before exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def check_graph(model, shared):
    """The ONNX graph must reproduce a golden output, or the timings compare different models."""
    import numpy as np
    out = {}
    for engine in ("onnxruntime", "openvino"):
        ref = np.load(os.path.join(shared, "testdata/golden/coffee_104x156_hayao_output.npy"))
        run = make_runner(engine, model, 104, 156, 2)
        import zlib
        rgb = np.asarray(read_png(os.path.join(shared, "testdata/golden/coffee_104x156_input.png")), np.float32)
        x = rgb[:, :, ::-1].transpose(2, 0, 1)[None].copy()
        y = run(x).transpose(0, 2, 3, 1)
        out[engine] = float(np.abs(y - ref).max())
    return out


def read_png(path):
    # 8-bit RGB, non-interlaced PNG (the golden inputs): enough of a reader for the check.
    import struct, zlib, numpy as np
    data = open(path, "rb").read()
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3
    rows, prev = [], bytearray(stride)
    for r in range(height):
        f = raw[r * (stride + 1)]
        line = bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return np.frombuffer(b"".join(rows), np.uint8).reshape(height, width, 3)


# The generator's layers in the order `artworker bench --layers` reports them (each with the
# group norm that follows it).
LAYERS = (["conv01 7×7 3→64", "conv02_1 3×3 /2", "conv02_2 3×3", "conv03_1 3×3 /2", "conv03_2 3×3"]
          + [f"res{b} conv{i}" for b in range(1, 9) for i in (1, 2)]
          + ["deconv01_1 3×3 ×2", "deconv01_2 3×3", "deconv02_1 3×3 ×2", "deconv02_2 3×3", "deconv03_1 7×7 64→3"])

# OpenVINO's own kernels and its oneDNN each read one of these (both must be set).
AVX2_ONLY = {"ONEDNN_MAX_CPU_ISA": "AVX2", "OV_CPU_MAX_ISA": "AVX2"}


def cpu_model():
    info = open("/proc/cpuinfo").read()
    names = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")]
    return (names[0] if names else "unknown CPU") + (" (AVX-512)" if " avx512f" in info else " (no AVX-512)")


def run_json(command, env=None):
    out = subprocess.run(command, check=True, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {}))).stdout
    return json.loads(out.strip().splitlines()[-1])


def layer_times(binary, size, threads, runs):
    """`artworker bench --layers`: the per-layer times (ms, GFLOP/s) of the last timed run."""
    out = subprocess.run([binary, "bench", "--style", "hayao", "--size", size, "--threads", str(threads),
                          "--warmups", "1", "--runs", str(runs), "--layers"],
                         check=True, capture_output=True, text=True)
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[0] == "layer":
            rows.append((float(parts[2]), float(parts[4])))
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--engine")
    p.add_argument("--model", default=os.path.join(ROOT, ".build-bench", "cartoongan_hayao.onnx"))
    p.add_argument("--size")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmups", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--sizes", default="256x256,512x512,1280x720")
    p.add_argument("--shared", default=os.environ.get("ARTWORKER_SHARED", os.path.join(ROOT, "..", "shared")))
    p.add_argument("--artworker", default=os.path.join(ROOT, ".build", "release", "artworker"))
    p.add_argument("--artworker-avx2", help="the x86-64-v3 build, compared beside OpenVINO capped to AVX2")
    p.add_argument("--layer-runs", type=int, default=3)
    args = p.parse_args()
    if args.engine:
        return run_engine(args)

    os.makedirs(os.path.dirname(args.model), exist_ok=True)
    build_onnx(os.path.join(args.shared, "weights/cartoongan/hayao"), args.model)
    check = check_graph(args.model, args.shared)
    print(f"ONNX graph vs golden coffee/hayao: max |diff| " +
          ", ".join(f"{k} {v:.1e}" for k, v in check.items()), flush=True)
    if max(check.values()) > 1e-4:
        sys.exit("the ONNX graph does not reproduce the golden output; timings would be meaningless")

    print(f"CPU: {cpu_model()}, {args.threads} threads", flush=True)
    # (name, command builder, environment): each runs in its own process per size.
    engines = [("artworker", lambda common: [args.artworker, "bench", "--style", "hayao"] + common, None),
               ("openvino", lambda common: [sys.executable, __file__, "--engine", "openvino", "--model", args.model] + common, None)]
    if args.artworker_avx2:
        engines += [("artworker-avx2", lambda common: [args.artworker_avx2, "bench", "--style", "hayao"] + common, None),
                    ("openvino-avx2", lambda common: [sys.executable, __file__, "--engine", "openvino", "--model", args.model] + common,
                     AVX2_ONLY)]
    engines.append(("onnxruntime", lambda common: [sys.executable, __file__, "--engine", "onnxruntime", "--model", args.model] + common, None))

    results, kernels = [], {}
    for size in args.sizes.split(","):
        common = ["--size", size, "--threads", str(args.threads), "--warmups", str(args.warmups), "--runs", str(args.runs)]
        for engine, command, env in engines:
            result = run_json(command(common), env)
            if "kernels" in result:
                kernels[engine] = result["kernels"]
            result["engine"] = engine
            results.append(result)
            print(f"  {size:>9} {engine:<15} median {result['median_s'] * 1000:8.1f} ms  "
                  f"{result['gflops']:6.1f} GFLOP/s  peak RSS {result['peak_rss_mb']:6.0f} MB", flush=True)

    print(f"\nFLOPs: 2 per multiply-add of a direct convolution, 1.66 MFLOP per input pixel "
          f"(829,824 multiply-adds). Threads: {args.threads}. Median of {args.runs} runs after {args.warmups} warm-ups.")
    for engine, text in kernels.items():
        print(f"{engine}: {text}")
    builds = [("artworker", "openvino", "native")]
    if args.artworker_avx2:
        builds.append(("artworker-avx2", "openvino-avx2", "AVX2"))
    print(f"{'size':>9} | {'build':<6} | {'artworker':>10} | {'openvino':>10} | {'onnxruntime':>11} | artworker/OV | artworker/ORT")
    for size in args.sizes.split(","):
        r = {x["engine"]: x for x in results if x["size"] == size}
        o = r["onnxruntime"]["median_s"]
        for mine, theirs, label in builds:
            a, v = r[mine]["median_s"], r[theirs]["median_s"]
            print(f"{size:>9} | {label:<6} | {a * 1000:8.1f}ms | {v * 1000:8.1f}ms | {o * 1000:9.1f}ms | "
                  f"{a / v:12.2f} | {a / o:13.2f}")

    # Where the time goes: both builds layer by layer at the largest size.
    size = args.sizes.split(",")[-1]
    columns = [(label, layer_times(args.artworker if mine == "artworker" else args.artworker_avx2, size,
                                   args.threads, args.layer_runs)) for mine, _, label in builds]
    print(f"\nPer layer at {size} (last of {args.layer_runs} runs after a warm-up; each layer's group norm included):")
    print(f"{'layer':<22}" + "".join(f" | {label + ' ms':>10} {'GFLOP/s':>8}" for label, _ in columns))
    for i, name in enumerate(LAYERS):
        cells = "".join(f" | {rows[i][0]:10.1f} {rows[i][1]:8.1f}" if i < len(rows) else " | " + " " * 19
                        for _, rows in columns)
        print(f"{name:<22}{cells}")
    print(f"{'total':<22}" + "".join(f" | {sum(ms for ms, _ in rows):10.1f} {'':>8}" for _, rows in columns))

if __name__ == "__main__":
    main()
