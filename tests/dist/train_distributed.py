"""`mpirun -np 2 tandem train --distributed` against `tandem train` in one process on the same
global batches: the CLIP sample of examples/train (CLIPLoss, whose negatives are gathered from
every rank) gives the same logged losses and final weights to float rounding. A 2-rank run
resumed from a checkpoint ends bit for bit as the uninterrupted one, a resume with another
number of processes is refused, and a rank killed mid-run ends the job within a bounded time.

usage: train_distributed.py TANDEM SOURCE_ROOT MPIRUN [MPIRUN_ARGS...]
"""
import json
import os
import pathlib
import signal
import struct
import subprocess
import sys
import tempfile
import time
from array import array

tandem, root, mpirun, *mpirun_args = sys.argv[1:]
root = pathlib.Path(root)
shared = pathlib.Path(os.environ.get("TANDEM_TEST_DATA") or root.parent / "shared" / "data")
needed = [shared / "tokenizers" / "clip-vit-base-patch32" / "tokenizer.json", shared / "images" / "coffee.png"]
if not all(p.exists() for p in needed):
    print(f"SKIPPED: this test needs {needed}")
    sys.exit(77)  # Meson's "skipped"


def read_safetensors(path):
    data = path.read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_size])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        tensors[name] = array("f", data[8 + header_size + begin : 8 + header_size + end])
    return tensors


def losses(out):
    state = json.loads((out / "trainer_state.json").read_text())
    return [e["loss"] for e in state["log_history"] if "loss" in e]


with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    images = ["astronaut.png", "chelsea.png", "coffee.png", "camera_gray.png"]
    with open(tmp / "captions.jsonl", "w") as f:
        for i in range(16):
            f.write(json.dumps({"caption": f"picture number {i} of a {images[i % 4][:-4]}",
                                "image": str(shared / "images" / images[i % 4])}) + "\n")
    config = json.loads((root / "examples" / "train" / "clip.json").read_text())
    config["model"]["tokenizer"] = str(shared / "tokenizers" / "clip-vit-base-patch32" / "tokenizer.json")
    config["train_dataset"]["path"] = str(tmp / "captions.jsonl")
    config["args"].update({"max_steps": 4, "logging_steps": 1, "warmup_ratio": 0, "save_strategy": "no"})

    def command(name, ranks, per_device, **args):
        """The command line of a run named `name` with these training arguments, and its output folder."""
        out = tmp / name
        run_config = json.loads(json.dumps(config))
        run_config["args"].update({"output_dir": str(out), "per_device_train_batch_size": per_device, **args})
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(run_config))
        line = [tandem, "train", "--threads", "1", "--config", str(path)]
        return ([mpirun, *mpirun_args, *line, "--distributed"] if ranks > 1 else line), out

    def train(name, ranks, per_device, expect_success=True, **args):
        line, out = command(name, ranks, per_device, **args)
        result = subprocess.run(line, capture_output=True, text=True)
        if (result.returncode == 0) != expect_success:
            sys.exit(f"{' '.join(line)} ended with {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return out, result.stdout + result.stderr

    runs = {}
    for ranks, per_device in [(1, 8), (2, 4)]:
        out, _ = train(f"out{ranks}", ranks, per_device)
        runs[ranks] = (losses(out), read_safetensors(out / "final" / "model.safetensors"))

    one, two = runs[1], runs[2]
    assert len(one[0]) == len(two[0]) == 4, (one[0], two[0])
    loss_diff = max(abs(a - b) / abs(a) for a, b in zip(one[0], two[0]))
    weight_diff = max(abs(x - y) for name in one[1] for x, y in zip(one[1][name], two[1][name]))
    assert one[1].keys() == two[1].keys()
    print(f"losses, 1 rank: {one[0]}\nlosses, 2 ranks: {two[0]}")
    print(f"largest relative loss difference {loss_diff:.3g}, largest weight difference {weight_diff:.3g}")
    # The losses are logged to 4 decimals. The weights differ by the order of float sums in the
    # gradients, which AdamW's normalisation makes up to a step of lr where a gradient is
    # near 0: the bound is a tenth of the largest move 4 steps can make.
    bound = 0.1 * config["args"]["learning_rate"] * 4
    assert loss_diff <= 1e-4, loss_diff
    assert weight_diff <= bound, (weight_diff, bound)

    # A 2-rank run resumed from its step-2 checkpoint ends with the uninterrupted run's bits.
    full, _ = train("full", 2, 4, save_strategy="steps", save_steps=2)
    checkpoint = full / "checkpoint-2"
    resumed, _ = train("resumed", 2, 4, resume_from_checkpoint=str(checkpoint))
    assert read_safetensors(resumed / "final" / "model.safetensors") == read_safetensors(
        full / "final" / "model.safetensors"), "the resumed run's weights differ"
    assert losses(resumed) == losses(full), (losses(resumed), losses(full))
    print("a 2-rank run resumed at step 2 ends bit for bit as the uninterrupted one")

    # Resuming with another number of processes is refused: the data position depends on it.
    _, output = train("one_rank_resume", 1, 8, expect_success=False, resume_from_checkpoint=str(checkpoint))
    assert "key 'world_size': the checkpoint was written by 2 processes, this run has 1" in output, output

    # Killing one rank mid-run ends the job, naming the rank, within a bounded time.
    line, out = command("killed", 2, 4, max_steps=100000)
    job = subprocess.Popen(line, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (out / "training_log.jsonl").exists():
        assert job.poll() is None and time.monotonic() < deadline, "the long run did not start"
        time.sleep(0.2)
    ranks = subprocess.run(["pgrep", "-P", str(job.pid)], capture_output=True, text=True).stdout.split()
    assert len(ranks) == 2, ranks
    killed_at = time.monotonic()
    os.kill(int(ranks[-1]), signal.SIGKILL)
    output, _ = job.communicate(timeout=60)
    ended_after = time.monotonic() - killed_at
    assert job.returncode != 0, job.returncode
    assert "rank" in output and "signal 9" in output, output
    print(f"a rank killed mid-run ended the job after {ended_after:.1f} s")
    assert ended_after < 30, ended_after
