"""Expert iteration (rejection-sampling fine-tuning) of the embedded SmolLM2 on MBPP.

1. bench the embedded model on MBPP's train split, several samples and repair rounds;
2. export the passing trajectories as ``sft`` (history in the prompt, the passing reply as the
   completion);
3. fine-tune SmolLM2-135M-Instruct on them with TRL's ``SFTTrainer`` (CPU);
4. write the fine-tuned weights *and the original ones* as F32 GGUF files, with the original
   GGUF's metadata (tokenizer, chat template), and serve each with codemend's embedded
   llama.cpp server (``CODEMEND_EMBEDDED_GGUF``, a server of the run's own);
5. bench both on MBPP's validation split with the same seeds and print pass@1 by round.

Why GGUF and llama.cpp: it is the server codemend already runs (OpenAI-compatible, fast on a
CPU), and writing *both* models through the same converter at F32 compares fine-tuning alone,
not fine-tuning plus the shipped file's Q4_1 quantisation. The converter maps the Hugging Face
tensor names with ``gguf``'s own name map and undoes the Q/K row permutation ``transformers``
applies when it loads a llama GGUF.

    python examples/expert_iteration.py --work /tmp/ei --train-limit 60 --val-limit 40

Needs ``pip install -e '.[train]'``. Prints one JSON line per phase and a summary at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DATA = Path("/work/shared/data/mbpp/mbpp.jsonl")


def log(phase: str, **fields: Any) -> None:
    print(json.dumps({"phase": phase, **fields}), flush=True)


def bench(
    args: argparse.Namespace, split: str, limit: int, run_dir: Path, gguf: Path | None
) -> dict[str, Any]:
    """``codemend bench mbpp`` on an embedded server of its own (not one shared with other
    processes), serving ``gguf`` (default: the shipped file)."""
    env = dict(os.environ)
    env.pop("CODEMEND_BASE_URL", None)
    env.pop("OPENAI_BASE_URL", None)
    env["CODEMEND_EMBEDDED_SHARE"] = "0"
    if gguf is not None:
        env["CODEMEND_EMBEDDED_GGUF"] = str(gguf)
    command = [sys.executable, "-m", "codemend", "bench", "mbpp", "--data", str(args.data)]
    command += ["--split", split, "--limit", str(limit), "--samples", str(args.samples)]
    command += ["--rounds", str(args.rounds), "--seed", str(args.seed), "--max-tokens", str(args.max_tokens)]
    command += ["--concurrency", str(args.concurrency), "--run-dir", str(run_dir), "--no-progress"]
    if args.temperature is not None:
        command += ["--temperature", str(args.temperature)]
    subprocess.run(command, env=env, check=False)
    summary = json.loads((run_dir / "summary.json").read_text())
    by_round = summary["metrics"]["pass_at_k_by_round"]
    return {
        "pass@1 by round": {r: scores.get("1") for r, scores in by_round.items()},
        "summary": summary["summary"],
    }


def export_sft(run_dir: Path, out: Path) -> int:
    command = [sys.executable, "-m", "codemend", "export", str(run_dir), "--format", "sft", "--out", str(out)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0 or not out.exists():
        print(done.stdout + done.stderr, file=sys.stderr)
        return 0
    return sum(1 for line in out.read_text().splitlines() if line.strip())


def load_base() -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    from codemend.llm.embedded import default_gguf

    gguf = default_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model = LlamaForCausalLM(loaded.config)  # Trainer refuses the "purely quantized" loaded object
    model.load_state_dict(loaded.state_dict())
    return model, tokenizer


def fine_tune(model: Any, tokenizer: Any, data: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    import datasets
    from trl import SFTConfig, SFTTrainer

    train = datasets.load_dataset("json", data_files=str(data), split="train")
    config = SFTConfig(
        output_dir=str(out),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=args.seed,
        gradient_checkpointing=False,
        disable_tqdm=True,
    )
    trainer = SFTTrainer(model=model, args=config, train_dataset=train, processing_class=tokenizer)
    result = trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {"steps": trainer.state.global_step, "train_loss": result.training_loss, "losses": losses}


def _permute(weights: Any, heads: int) -> Any:
    """llama.cpp's row order for Q and K (the inverse of what ``transformers`` undoes on load)."""
    rows = weights.shape[0]
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def write_gguf(model: Any, out: Path) -> Path:
    """``model``'s weights at F32 in a GGUF carrying the shipped file's metadata."""
    import gguf

    from codemend.llm.embedded import default_gguf

    source = gguf.GGUFReader(default_gguf())
    arch = str(source.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(str(out), arch)
    for key, field in source.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        sub = field.types[1] if len(field.types) > 1 else None
        writer.add_key_value(key, field.contents(), field.types[0], sub_type=sub)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    config = model.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    by_name = {}
    for hf_name, tensor in model.state_dict().items():
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is not None:
            by_name[name] = tensor.detach().float().numpy()
    for info in source.tensors:
        data = by_name[info.name]
        if info.name.endswith("attn_q.weight"):
            data = _permute(data, config.num_attention_heads)
        elif info.name.endswith("attn_k.weight"):
            data = _permute(data, config.num_key_value_heads)
        writer.add_tensor(info.name, data.copy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, default=Path("runs/expert-iteration"))
    parser.add_argument("--train-limit", type=int, default=100)
    parser.add_argument("--val-limit", type=int, default=90)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--max-length", type=int, default=768)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    walls: dict[str, float] = {}

    started = time.perf_counter()
    collected = bench(args, "train", args.train_limit, args.work / "bench-train", None)
    walls["bench train (embedded Q4_1)"] = time.perf_counter() - started
    log("bench-train", **collected, seconds=walls["bench train (embedded Q4_1)"])

    started = time.perf_counter()
    examples = export_sft(args.work / "bench-train", args.work / "data" / "sft.jsonl")
    walls["export"] = time.perf_counter() - started
    log("export", sft_examples=examples)
    if examples == 0:
        log("stop", reason="no passing trajectory to train on")
        return

    started = time.perf_counter()
    model, tokenizer = load_base()
    original = write_gguf(model, args.work / "original-f32.gguf")
    trained = fine_tune(model, tokenizer, args.work / "data" / "sft.jsonl", args.work / "sft", args)
    finetuned = write_gguf(model, args.work / "finetuned-f32.gguf")
    walls["fine-tune and convert"] = time.perf_counter() - started
    log("fine-tune", **trained, seconds=walls["fine-tune and convert"])

    results = {}
    for name, gguf_file in (("original", original), ("fine-tuned", finetuned)):
        started = time.perf_counter()
        results[name] = bench(args, "validation", args.val_limit, args.work / f"bench-val-{name}", gguf_file)
        walls[f"bench validation ({name})"] = time.perf_counter() - started
        log(f"bench-validation-{name}", **results[name], seconds=walls[f"bench validation ({name})"])

    log(
        "summary",
        sft_examples=examples,
        pass1_by_round={name: r["pass@1 by round"] for name, r in results.items()},
        seconds=walls,
    )


if __name__ == "__main__":
    main()
