"""Training-step throughput and peak memory of every model at the paper's shapes.

One step = the trainer's: forward (under bf16 autocast or not), Σ_u β_u CE loss, backward, SGD
step, on random features of the paper's shapes (text 80 × 768, audio 100 × 768, vision
64 × 512, no padding) and random labels. For each model, batch size (32, 64), precision
(fp32, bf16 autocast) and mode (eager, torch.compile) it prints samples per second (median
over the timed steps) and peak memory; for LFMIM it also counts the FLOPs of one step with
`torch.utils.flop_counter.FlopCounterMode` and reports the achieved FLOP/s against the
machine's peak.

    .venv/bin/python bench/train_step.py            # the GPU when present, else the CPU
    .venv/bin/python bench/train_step.py --batch-sizes 32,64   # every model at both sizes
    .venv/bin/python bench/train_step.py --quick    # LFMIM only, batch 32
    .venv/bin/python bench/train_step.py --quick --compile lfmim   # + torch.compile
    .venv/bin/python bench/train_step.py --models tailor   # TAILOR alone (released shapes)
    .venv/bin/python bench/train_step.py --released-code ../LFMIM --rounds 2   # see below

TAILOR runs at its released shapes instead (CMU-MOSEI aligned: text 60 × 300, audio 60 × 74,
vision 60 × 35, 6 labels; hidden 256, 8 heads): multi-hot labels, BCE plus its adversarial,
orthogonality and common-classifier terms, Adam as released (`tailor_rows` below).


Released shapes (`--released-code PATH`, a checkout of https://github.com/sunjunaimer/LFMIM or
its LFMIM0723v2 folder): the released code's model (`LFMIMv2.MultiUniTransformer`, imported
from PATH, never copied here, with its own `initialize_parameters` and its Trainer's loss, the
sum of the four cross-entropies) side by side with the `released` preset of LFMIM, at the
released code's shapes (text 80 × 1024, audio 50 × 1024, vision 16 × 2048, batch 32), SGD lr
0.005 for both. The variants run one after another within a round and `--rounds` repeats the
round, so both see the same load; each round prints the preset's speed-up over the released
code in that round. Without the option that section is skipped.

Peak memory: on CUDA, `torch.cuda.max_memory_allocated` above what was allocated before the
model was built; on CPU, the peak resident set size (VmHWM, reset through
/proc/self/clear_refs after returning freed memory with malloc_trim) above the RSS before the
model was built: parameters, gradients, optimiser state, inputs and activations.

CPU peak FLOP/s is estimated as cores × clock × FLOPs per cycle per core from the CPU flags:
fp32 with AVX-512 = 2 FMA units × 16 lanes × 2 = 64 (AVX2: 32); bf16 with AMX = 1024
(avx512_bf16 without AMX: 128). Clock: cpufreq's maximum, else /proc/cpuinfo's "cpu MHz".
The measured rate of a large matrix product is printed beside it as the practical ceiling.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import gc
import importlib
import importlib.util
import os
import statistics
import sys
import time
import types
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.engine.loss import head_targets, label_loss, multi_head_loss  # noqa: E402
from training.engine.precision import cpu_has_fast_bf16  # noqa: E402
from training.models import MODEL_NAMES, build_model  # noqa: E402
from training.models.common import (  # noqa: E402
    PAPER_FEATURE_DIMS,
    PAPER_SEQ_LENS,
    RELEASED_FEATURE_DIMS,
    RELEASED_SEQ_LENS,
    ModalityInputs,
)

BETA = {h: 1.0 for h in ("t", "a", "v", "m")}


# --- inputs and one step ---------------------------------------------------------------------


SHAPES = {
    "paper": (PAPER_SEQ_LENS, PAPER_FEATURE_DIMS),
    "released": (RELEASED_SEQ_LENS, RELEASED_FEATURE_DIMS),
}


def random_batch(
    batch: int, device: torch.device, shapes: str = "paper"
) -> tuple[ModalityInputs, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    lengths, dims = SHAPES[shapes]

    def features(u: str) -> torch.Tensor:
        shape = (batch, lengths[u], dims[u])
        return torch.randn(shape, generator=g).to(device)

    inputs = ModalityInputs.unpadded(features("t"), features("a"), features("v")).to(device)
    labels = torch.randint(0, 7, (batch, 4), generator=g).to(device)
    return inputs, labels


class Step:
    """The trainer's optimisation step (training.engine.trainer) without data loading: the
    head losses (CE, or BCE when multi-label), the model's own auxiliary terms (TAILOR's),
    backward, optimiser step."""

    def __init__(
        self,
        name: str,
        device: torch.device,
        bf16: bool,
        compile_model: bool,
        preset: str = "paper",
        label_mode: str = "single-label",
        optimizer=lambda parameters: torch.optim.SGD(parameters, lr=0.005),
    ):
        torch.manual_seed(0)
        self.model = build_model(name, preset=preset).to(device).train()
        self.targets = self.model.label_targets
        self.label_mode = label_mode
        self.forward = torch.compile(self.model) if compile_model else self.model
        self.optimizer = optimizer(self.model.parameters())
        self.autocast = (
            torch.autocast(device_type=device.type, dtype=torch.bfloat16)
            if bf16
            else contextlib.nullcontext()
        )

    def __call__(self, inputs: ModalityInputs, labels: torch.Tensor) -> float:
        with self.autocast:
            out = self.forward(inputs)
        total, _ = multi_head_loss(out, labels, self.targets, BETA, self.label_mode)
        aux = self.model.auxiliary_losses(
            out,
            head_targets(labels, self.targets),
            lambda z, y: label_loss(z, y, self.label_mode),
        )
        total = total + sum(aux.values())
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        return float(total.detach())  # waits for the device


def load_released_code(path: Path, device: torch.device) -> types.ModuleType:
    """The released code's `LFMIMv2` module, imported from a checkout (PATH or PATH/LFMIM0723v2).

    The module imports torchmetrics for its Trainer's metrics; the model never uses it, so
    when it is not installed an empty stand-in is registered for the import. The model's
    forward reads a module-level `device` that the released script sets in `__main__`.
    """
    folder = path / "LFMIM0723v2" if (path / "LFMIM0723v2").is_dir() else path
    if not (folder / "LFMIMv2.py").is_file():
        raise SystemExit(
            f"--released-code: no LFMIMv2.py in {path} or {path}/LFMIM0723v2; clone "
            "https://github.com/sunjunaimer/LFMIM and give the clone's path."
        )
    sys.path.insert(0, str(folder))
    if importlib.util.find_spec("torchmetrics") is None:
        stand_in = types.ModuleType("torchmetrics")
        stand_in.Accuracy = stand_in.ConfusionMatrix = None
        sys.modules["torchmetrics"] = stand_in
    module = importlib.import_module("LFMIMv2")
    module.device = device
    return module


class ReleasedCodeStep:
    """One step of the released code's Trainer.train: model, loss, SGD (no DDP on one CPU)."""

    def __init__(self, module: types.ModuleType, device: torch.device):
        torch.manual_seed(0)
        args = types.SimpleNamespace(  # the released script's argparse defaults
            fea_len_t=81, fea_len_a=51, fea_len_v=17, fea_len_m=4, num_classes=7
        )
        self.model = module.MultiUniTransformer([1024] * 4, 4, [16] * 4, [1024] * 4, args)
        self.model = self.model.to(device)
        self.model.initialize_parameters()
        self.model.train()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.005)

    def __call__(self, inputs: ModalityInputs, labels: torch.Tensor) -> float:
        self.optimizer.zero_grad()
        output = self.model(inputs.text, inputs.audio, inputs.vision)
        loss = sum(
            torch.nn.functional.cross_entropy(out, labels[:, i]) for i, out in enumerate(output)
        )
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())


# --- memory ----------------------------------------------------------------------------------


def _status(field: str) -> int:
    """A /proc/self/status memory field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


class PeakMemory:
    """Peak memory of what runs inside the block, above the level when it began."""

    def __init__(self, device: torch.device):
        self.device, self.peak = device, 0

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL("libc.so.6").malloc_trim(0)
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
            self.base = _status("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device) - self.base
        else:
            self.peak = _status("VmHWM") - self.base


# --- peak FLOP/s -----------------------------------------------------------------------------


def cpu_peak() -> dict[str, float | str]:
    flags = set()
    clock_hz = 0.0
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
        elif line.startswith("cpu MHz") and not clock_hz:
            clock_hz = float(line.split(":", 1)[1]) * 1e6
    cpufreq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if cpufreq.exists():
        clock_hz = float(cpufreq.read_text()) * 1e3
    cores = torch.get_num_threads()
    fp32 = 64 if "avx512f" in flags else 32 if "avx2" in flags and "fma" in flags else 8
    bf16 = 1024 if "amx_bf16" in flags else 128 if "avx512_bf16" in flags else fp32
    return {
        "fp32": cores * clock_hz * fp32,
        "bf16": cores * clock_hz * bf16,
        "how": f"{cores} threads × {clock_hz / 1e9:.2f} GHz × {fp32} fp32 / {bf16} bf16 "
        f"FLOPs per cycle ({'AVX-512' if fp32 == 64 else 'AVX2' if fp32 == 32 else 'SSE'}, "
        f"{'AMX' if bf16 == 1024 else 'no AMX'})",
    }


def measured_matmul(device: torch.device, dtype: torch.dtype, n: int = 2048) -> float:
    """FLOP/s of an n × n matrix product: the practical ceiling on this device."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    repeats, began = 5 if device.type == "cpu" else 50, time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - began)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def flops_per_step(name: str, batch: int, preset: str = "paper") -> int:
    """FLOPs of one forward + backward, counted by FlopCounterMode on the meta device (no
    arithmetic is done): matmuls, convolutions and attention; elementwise work is not counted."""
    from torch.utils.flop_counter import FlopCounterMode

    meta = torch.device("meta")
    step = Step(name, meta, bf16=False, compile_model=False, preset=preset)
    inputs, labels = random_batch(batch, torch.device("cpu"), shapes=preset)
    with FlopCounterMode(display=False) as counter:
        logits = step.forward(inputs.to(meta))
        total, _ = multi_head_loss(logits, labels.to(meta), step.targets, BETA)
        total.backward()
    return int(counter.get_total_flops())


# --- the benchmark ---------------------------------------------------------------------------


def bench_one(
    name: str,
    device: torch.device,
    batch: int,
    bf16: bool,
    compiled: bool,
    warmup: int,
    steps: int,
    preset: str = "paper",
    make_step=None,
    make_batch=None,
) -> dict:
    """`make_step()` replaces the project's Step (the released code's, TAILOR's); `preset`
    also names the input shapes unless `make_batch()` gives the batch."""
    try:
        with PeakMemory(device) as memory:
            inputs, labels = make_batch() if make_batch else random_batch(batch, device, preset)
            step = make_step() if make_step else Step(name, device, bf16, compiled, preset)
            began = time.perf_counter()
            for _ in range(warmup):  # the first compiled call compiles
                step(inputs, labels)
            first = time.perf_counter() - began
            times = []
            for _ in range(steps):
                began = time.perf_counter()
                step(inputs, labels)
                times.append(time.perf_counter() - began)
    except Exception as exc:  # noqa: BLE001 - e.g. torch.compile without a working compiler
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}
    finally:
        if compiled:
            torch._dynamo.reset()
    seconds = statistics.median(times)
    return {
        "seconds": seconds,
        "samples_per_s": batch / seconds,
        "peak": memory.peak,
        "warmup": first,
        "times": times,
    }


# LFMIM-ML is LFMIM's network with other targets: the same step, so it is not timed twice.
DEFAULT_MODELS = tuple(m for m in MODEL_NAMES if m != "lfmim-ml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument(
        "--batch-sizes",
        help="default: 32,64 on GPU; on CPU 32, and 32,64 for LFMIM (every model at both "
        "sizes took 22 minutes on this 2-core machine)",
    )
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument(
        "--compile",
        choices=("none", "lfmim", "all"),
        default=None,
        help="which models also run under torch.compile (default: all on GPU; none on CPU, "
        "where inductor took about 12 minutes to compile LFMIM's step alone on 2 cores)",
    )
    parser.add_argument("--steps", type=int, default=None, help="timed steps (CPU 2, GPU 20)")
    parser.add_argument("--warmup", type=int, default=None, help="(CPU 1, GPU 3)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    parser.add_argument("--quick", action="store_true", help="LFMIM only, batch 32")
    parser.add_argument(
        "--released-code",
        type=Path,
        metavar="PATH",
        help="a checkout of the released LFMIM code: adds the side-by-side section at the "
        "released shapes (skipped without it)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeats of the released-shapes section's round"
    )
    parser.add_argument("--only-released", action="store_true", help="skip the paper-shape table")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    cpu = device.type == "cpu"
    if args.threads:
        torch.set_num_threads(args.threads)
    models = ["lfmim"] if args.quick else [m for m in args.models.split(",") if m]
    with_tailor, models = "tailor" in models, [m for m in models if m != "tailor"]
    given = [int(b) for b in args.batch_sizes.split(",")] if args.batch_sizes else None
    precisions = args.precisions.split(",")
    compile_for = args.compile or ("none" if cpu else "all")
    steps = args.steps or (2 if cpu else 20)
    warmup = args.warmup if args.warmup is not None else (1 if cpu else 3)

    where = torch.cuda.get_device_name(device) if not cpu else _cpu_name()
    print(
        f"torch {torch.__version__} on {device.type}: {where}; {torch.get_num_threads()} "
        f"CPU threads; {steps} timed steps after {warmup} warm-up steps per row; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if args.released_code:
        _released_section(args.released_code, device, steps, warmup, args.rounds)
    if args.only_released:
        return 0
    print("Paper shapes: text 80 × 768, audio 100 × 768, vision 64 × 512; SGD; random data.")
    if compile_for == "none":
        print("torch.compile not run (--compile lfmim or all to run it).")
    print()
    header = (
        f"{'model':<9} {'batch':>5} {'prec':>4} {'mode':>7} {'samples/s':>10} "
        f"{'ms/step':>8} {'peak MB':>8} {'1st s':>6}"
    )
    print(header)
    print("-" * len(header), flush=True)
    results = {}
    for name in models:
        modes = ["eager"]
        if compile_for == "all" or (compile_for == "lfmim" and name == "lfmim"):
            modes.append("compile")
        if args.quick:
            batches = [32]
        elif given:
            batches = given
        else:
            batches = [32, 64] if not cpu or name == "lfmim" else [32]
        for batch in batches:
            for precision in precisions:
                for mode in modes:
                    row = bench_one(
                        name, device, batch, precision == "bf16", mode == "compile", warmup, steps
                    )
                    results[name, batch, precision, mode] = row
                    print(_row(name, batch, precision, mode, row), flush=True)
    if with_tailor:
        tailor_rows(device, given or [32] if cpu else given or [32, 64], precisions, warmup, steps)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if "lfmim" in models:
        _flop_report(results, device, sorted({b for (m, b, *_) in results if m == "lfmim"}))
    return 0


def _released_section(path: Path, device: torch.device, steps: int, warmup: int, rounds: int):
    """The released code and the `released` preset at the released shapes, batch 32."""
    module = load_released_code(path, device)
    batch = 32
    auto = "bf16" if device.type == "cuda" or cpu_has_fast_bf16() else "fp32"
    variants = {
        "released code fp32": dict(make_step=lambda: ReleasedCodeStep(module, device)),
        "preset fp32": dict(bf16=False),
        "preset bf16": dict(bf16=True),
    }
    print(
        f"Released shapes: text 80 × 1024, audio 50 × 1024, vision 16 × 2048, batch {batch}; "
        f"SGD lr 0.005; random data; released code from {path}. mixed_precision=auto on this "
        f"device: {auto}."
    )
    header = (
        f"{'round':>5} {'variant':<19} {'samples/s':>10} {'s/step':>7} {'steps (s)':>17} "
        f"{'peak MB':>8} {'load':>5}"
    )
    print(header)
    print("-" * len(header), flush=True)
    speedups: dict[str, list[float]] = {v: [] for v in variants if v.startswith("preset")}
    for r in range(1, rounds + 1):
        rates = {}
        for variant, how in variants.items():
            row = bench_one(
                "lfmim",
                device,
                batch,
                how.get("bf16", False),
                False,
                warmup,
                steps,
                preset="released",
                make_step=how.get("make_step"),
            )
            if "error" in row:
                print(f"{r:>5} {variant:<19}  skipped: {row['error']}", flush=True)
                continue
            rates[variant] = row["samples_per_s"]
            print(
                f"{r:>5} {variant:<19} {row['samples_per_s']:>10.2f} {row['seconds']:>7.1f} "
                f"{min(row['times']):>8.1f}–{max(row['times']):<8.1f} "
                f"{row['peak'] / 2**20:>8.0f} {os.getloadavg()[0]:>5.1f}",
                flush=True,
            )
        for variant in speedups:
            if variant in rates and "released code fp32" in rates:
                speedups[variant].append(rates[variant] / rates["released code fp32"])
    for variant, values in speedups.items():
        if values:
            print(
                f"{variant} / released code, per round: " + ", ".join(f"{v:.2f}×" for v in values)
            )
    flops = flops_per_step("lfmim", batch, preset="released")
    print(f"released preset: {flops / 1e12:.2f} TFLOP per step (forward + backward)\n", flush=True)


def _row(name: str, batch: int, precision: str, mode: str, row: dict) -> str:
    label = f"{name:<9} {batch:>5} {precision:>4} {mode:>7}"
    if "error" in row:
        return f"{label}  skipped: {row['error']}"
    return (
        f"{label} {row['samples_per_s']:>10.1f} {1000 * row['seconds']:>8.1f} "
        f"{row['peak'] / 2**20:>8.0f} {row['warmup']:>6.1f}"
    )


def _flop_report(results: dict, device: torch.device, batches) -> None:
    print("\nLFMIM achieved FLOP/s (FLOPs of one step counted by FlopCounterMode)")
    if device.type == "cuda":
        peaks = {
            "fp32": measured_matmul(device, torch.float32),
            "bf16": measured_matmul(device, torch.bfloat16),
        }
        print(
            "GPU peak: measured 2048 × 2048 matrix products (no vendor table is assumed): "
            f"fp32 {peaks['fp32'] / 1e12:.1f} TFLOP/s, bf16 {peaks['bf16'] / 1e12:.1f} TFLOP/s"
        )
    else:
        estimate = cpu_peak()
        peaks = {"fp32": estimate["fp32"], "bf16": estimate["bf16"]}
        matmul = {
            p: measured_matmul(device, d)
            for p, d in (("fp32", torch.float32), ("bf16", torch.bfloat16))
        }
        print(
            f"CPU peak estimate: {estimate['how']} = fp32 {peaks['fp32'] / 1e9:.0f} GFLOP/s, "
            f"bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s"
        )
        print(
            f"Measured 2048 × 2048 matrix product: fp32 {matmul['fp32'] / 1e9:.0f} GFLOP/s, "
            f"bf16 {matmul['bf16'] / 1e9:.0f} GFLOP/s"
        )
    for batch in batches:
        flops = flops_per_step("lfmim", batch)
        print(f"batch {batch}: {flops / 1e9:.1f} GFLOPs per step (forward + backward)")
        for (name, b, precision, mode), row in results.items():
            if name != "lfmim" or b != batch or "error" in row:
                continue
            achieved = flops / row["seconds"]
            print(
                f"  {precision} {mode:<7} {achieved / 1e9:8.1f} GFLOP/s = "
                f"{100 * achieved / peaks[precision]:5.1f} % of the {precision} peak"
            )


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip() + f", {os.cpu_count()} CPUs"
    return f"{os.cpu_count()} CPUs"


# --- TAILOR at its released shapes ----------------------------------------------------------


def tailor_batch(batch: int, device: torch.device) -> tuple[ModalityInputs, torch.Tensor]:
    """Random CMU-MOSEI-shaped features (60 aligned steps) and (B, 4, 6) multi-hot labels."""
    from training.models.tailor import MOSEI_FEATURE_DIMS, MOSEI_SEQ_LENS

    g = torch.Generator().manual_seed(0)
    x = {
        u: torch.randn(batch, MOSEI_SEQ_LENS[u], MOSEI_FEATURE_DIMS[u], generator=g) for u in "tav"
    }
    inputs = ModalityInputs.unpadded(x["t"], x["a"], x["v"]).to(device)
    labels = (torch.rand(batch, 4, 6, generator=g) < 0.3).float().to(device)
    return inputs, labels


def tailor_rows(
    device: torch.device, batches: list[int], precisions: list[str], warmup: int, steps: int
) -> dict:
    """TAILOR's rows of the table (eager only), with its parameter count."""
    from training.models import count_parameters

    with torch.device("meta"):
        parameters = count_parameters(build_model("tailor", preset="released"))
    print(
        f"\nTAILOR, released shapes (text 60 × 300, audio 60 × 74, vision 60 × 35, 6 labels, "
        f"hidden 256, 8 heads; {parameters / 1e6:.2f} M parameters); BCE + auxiliary terms, Adam"
    )
    results = {}
    for batch in batches:
        for precision in precisions:
            bf16 = precision == "bf16"
            row = bench_one(
                "tailor",
                device,
                batch,
                bf16,
                False,
                warmup,
                steps,
                make_step=functools.partial(
                    Step,
                    "tailor",
                    device,
                    bf16,
                    False,
                    preset="released",
                    label_mode="multi-label",
                    optimizer=lambda parameters: torch.optim.Adam(parameters, lr=5e-5),
                ),
                make_batch=functools.partial(tailor_batch, batch, device),
            )
            results["tailor", batch, precision, "eager"] = row
            print(_row("tailor", batch, precision, "eager", row), flush=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
