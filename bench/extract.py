"""Feature extraction throughput at the paper's shapes (LFMIM §3.3, SPEC.md §4).

Base-size models with random weights, saved with save_pretrained and loaded by the export's
own extractors (``training.features``), so what is timed is what ``export_cherma`` runs:

- text: BERT-base (``BertConfig()``: 12 layers, 768) on 80 tokens (78 words + CLS + SEP),
  batch 32, tokenisation included;
- audio: wav2vec 2.0 base (``Wav2Vec2Config()``: 12 layers, 768, group norm) on clips of
  CHERMA's mean length (4.6 s at 16 kHz), batch 8, AAC decoding included; with
  ``--mixed-lengths`` the clips last 2.5 to 6.7 s instead (mean 4.6 s, no two alike), as real
  utterances do;
- vision: ResNet-18 (basic blocks 64-128-256-512) on 64 face crops of 224 × 224 per
  utterance (8 segments × 8 frames), batch 32, video decoding and face detection included.

Inputs are synthetic clips (``labeling.synthetic``: a drawn face and a voice-like signal,
320 × 240). Models and clips are made first; then each modality runs in its own process, so
its peak memory (VmHWM; on a GPU also ``torch.cuda.max_memory_allocated``) is its own.
One warm-up batch is not timed.

    .venv/bin/python bench/extract.py [--device cpu|cuda] [--scale 1] [--threads N]
        [--precisions auto,fp32] [--modalities text,audio,vision] [--compile] [--mixed-lengths]

``--compile`` also times vision with ``compile=True`` (torch.compile, frozen weights); its
warm-up, which includes compiling, is printed, not counted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MODALITIES = ("text", "audio", "vision")
SECONDS = 4.6  # CHERMA's mean utterance length (Table 1)
WARM_UP = {"text": 32, "audio": 8, "vision": 1}  # one batch (vision batches frames)
# Utterances timed per modality at --scale 1: small enough for a shared two-core CPU.
COUNTS = {"text": 64, "audio": 16, "vision": 4}


def transcripts(count: int) -> list[str]:
    from labeling import synthetic

    return [item.transcript for item in synthetic.plan_corpus(count, seed=11)]


def clip_seconds(count: int, mixed: bool) -> list[float]:
    """Each clip's length: CHERMA's mean, or spread evenly over 2.5–6.7 s around it."""
    if not mixed:
        return [SECONDS] * count
    spread = [2.5 + 4.2 * (i + 0.5) / count for i in range(count)]
    random.Random(0).shuffle(spread)  # warm-up and timed clips both span the range
    return spread


def prepare(folder: Path, scale: int, mixed_lengths: bool = False) -> None:
    """Base-size, randomly initialised models in the layout from_pretrained reads, and clips."""
    import torch
    from transformers import (
        BertConfig,
        BertModel,
        BertTokenizerFast,
        ResNetConfig,
        ResNetModel,
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2Model,
    )

    from labeling import synthetic

    torch.manual_seed(0)
    text, audio, vision = (folder / m for m in MODALITIES)
    characters = sorted({c for line in transcripts(500) for c in line})
    text.mkdir(parents=True)
    (text / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters]) + "\n",
        encoding="utf-8",
    )
    tokenizer = BertTokenizerFast(vocab=str(text / "vocab.txt"))
    tokenizer.save_pretrained(text)
    # BERT-base but for its vocabulary (the corpus's characters): the embedding lookup costs
    # the same, and the extractor refuses a tokenizer far smaller than its model.
    BertModel(BertConfig(vocab_size=len(tokenizer))).save_pretrained(text)
    Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(audio)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(audio)
    resnet18 = ResNetConfig(
        layer_type="basic", depths=[2, 2, 2, 2], hidden_sizes=[64, 128, 256, 512]
    )
    ResNetModel(resnet18).save_pretrained(vision)
    count = max(WARM_UP[m] + COUNTS[m] * scale for m in ("audio", "vision"))
    (folder / "clips").mkdir()
    seconds = clip_seconds(count, mixed_lengths)
    for i, item in enumerate(synthetic.plan_corpus(count, seed=11)):
        # The planner's length replaced by the mean (or a spread around it); the speech is
        # stretched to fit.
        synthetic.write_media(
            dataclasses.replace(item, seconds=seconds[i]), folder / "clips" / f"{i:04d}.mp4"
        )


def run_one(
    folder: Path,
    modality: str,
    device: str,
    scale: int,
    threads: int | None,
    precision: str,
    compiled: bool = False,
) -> dict:
    """Time one modality in this process; returns its figures."""
    import torch

    from training.features import (
        AudioFeatureExtractor,
        TextFeatureExtractor,
        VisionFeatureExtractor,
        load_audio,
    )

    if threads:
        torch.set_num_threads(threads)
    warm, count = WARM_UP[modality], COUNTS[modality] * scale
    clips = sorted((folder / "clips").glob("*.mp4"))
    path = str(folder / modality)
    before = _rss_mb("VmRSS")  # Python, torch and transformers imported
    if modality == "text":
        extractor = TextFeatureExtractor(path, device=device, precision=precision)
        shape = [extractor.sequence_length, extractor.hidden_size]
        items, work = transcripts(warm + count), extractor.extract
    elif modality == "audio":
        extractor = AudioFeatureExtractor(path, device=device, precision=precision)
        shape = [f"T={extractor.frame_count(round(SECONDS * 16000))}", extractor.hidden_size]
        items = clips

        def work(paths):
            return extractor.extract([load_audio(p, extractor.sample_rate) for p in paths])

    else:
        extractor = VisionFeatureExtractor(
            path, device=device, precision=precision, compile=compiled
        )
        shape = [extractor.num_frames, extractor.hidden_size]
        items = clips

        def work(paths):
            return [extractor.extract_file(p) for p in paths]

    warm_started = time.perf_counter()
    work(items[:warm])
    warm_up = time.perf_counter() - warm_started
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    work(items[warm : warm + count])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    return {
        "modality": modality,
        "device": device,
        "precision": extractor.precision + ("+c" if compiled else ""),
        "warm_up_s": warm_up,
        "threads": torch.get_num_threads(),
        "utterances": count,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "shape": shape,
        "parameters_m": sum(p.numel() for p in extractor.model.parameters()) / 1e6,
        "rss_before_mb": before,
        "peak_rss_mb": _rss_mb(),
        "cuda_peak_mb": (
            torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
        ),
    }


def _rss_mb(field: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of this process in MiB.

    ru_maxrss would do on its own, but Linux carries it across fork and exec, so a child
    would report its parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--scale", type=int, default=1, help="Multiply the utterance counts.")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads.")
    parser.add_argument(
        "--precisions",
        default="auto,fp32",
        help="Compute precisions to time, alternating per modality (auto: bf16 on CUDA and on "
        "CPUs with AMX or AMD's AVX512-BF16, else fp32).",
    )
    parser.add_argument("--modalities", default=",".join(MODALITIES), help="What to time.")
    parser.add_argument(
        "--compile", action="store_true", help="Also time vision with torch.compile."
    )
    parser.add_argument(
        "--mixed-lengths", action="store_true", help="Clips of 2.5–6.7 s instead of all 4.6 s."
    )
    parser.add_argument("--precision", help=argparse.SUPPRESS)  # child process
    parser.add_argument("--only", choices=MODALITIES, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    if args.device is None:
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.only:
        result = run_one(
            args.folder,
            args.only,
            args.device,
            args.scale,
            args.threads,
            args.precision,
            args.compile,
        )
        print(json.dumps(result))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        print("making base-size models and clips …", file=sys.stderr, flush=True)
        prepare(Path(tmp), args.scale, args.mixed_lengths)
        runs = [
            (modality, precision, compiled)
            for modality in MODALITIES
            if modality in args.modalities.split(",")
            for compiled in ((False, True) if modality == "vision" and args.compile else (False,))
            for precision in args.precisions.split(",")
        ]
        for modality, precision, compiled in runs:
            command = [sys.executable, __file__, "--only", modality, "--folder", tmp]
            command += ["--device", args.device, "--scale", str(args.scale)]
            command += ["--precision", precision]
            command += ["--threads", str(args.threads)] if args.threads else []
            command += ["--compile"] if compiled else []
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(
                f"{modality} {r['precision']}: {r['seconds']:.1f} s "
                f"(warm-up {r['warm_up_s']:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    print(
        f"\n{'modality':<8} {'device':<6} {'prec':<7} {'thr':>3} {'shape per utterance':<20} "
        f"{'params':>8} "
        f"{'utt/s':>7} {'n':>4} {'peak RSS':>9} {'+ model':>8} {'GPU peak':>9}"
    )
    for r in rows:
        gpu = f"{r['cuda_peak_mb']:.0f} MB" if r["cuda_peak_mb"] is not None else "–"
        shape = " × ".join(str(d) for d in r["shape"])
        print(
            f"{r['modality']:<8} {r['device']:<6} {r['precision']:<7} {r['threads']:>3} "
            f"{shape:<20} "
            f"{r['parameters_m']:>7.1f}M {r['per_second']:>7.2f} {r['utterances']:>4} "
            f"{r['peak_rss_mb']:>6.0f} MB {r['peak_rss_mb'] - r['rss_before_mb']:>5.0f} MB "
            f"{gpu:>9}"
        )
    print("\npeak RSS: the whole process; + model: above Python, torch and transformers.")


if __name__ == "__main__":
    main()
