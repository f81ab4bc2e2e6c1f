#!/usr/bin/env python3
"""The PyTorch peer of `syncgrad bench`: trains the same MLP on synthetic data
with PyTorch, in one process or across several with torch.distributed (gloo),
and prints one JSON line with the measured training throughput.

Run it with the Python that has torch, e.g.
    /usr/bin/python3 peers/torch_peer.py --inputs 784 --hidden 200,150 --batch 128 --seconds 3
Problems a user can fix (bad flags, no torch, no gloo) print one line to stderr
and exit with code 2.
"""

import argparse
import ctypes
import datetime
import json
import math
import os
import re
import socket
import sys
import time

# Rows in the synthetic training set. Batches are contiguous slices that cycle
# through it, so the timed loop never generates or copies data.
POOL_ROWS = 8192

# The timed loop always runs at least this many steps, however slow they are.
MIN_TIMED_STEPS = 5

# A rank that waits this long for the others at the rendezvous or in a
# collective fails, rather than hanging for gloo's default half hour.
COLLECTIVE_TIMEOUT_SECONDS = 120

# Seconds the ranks get to shut down after rank 0 has reported its result.
TEARDOWN_SECONDS = 10


class PeerError(Exception):
    """A problem the user can fix; main() prints it alone and exits with code 2."""


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Measure PyTorch's MLP training throughput on synthetic data."
    )
    parser.add_argument("--inputs", type=positive_integer, default=784)
    parser.add_argument("--hidden", type=hidden_sizes, default=[200, 150], help="e.g. 200,150")
    parser.add_argument("--outputs", type=positive_integer, default=10)
    parser.add_argument("--batch", type=positive_integer, default=128, help="global batch")
    parser.add_argument("--optimizer", choices=["adam", "sgd", "momentum"], default="adam")
    parser.add_argument("--lr", type=float, default=0.0005)
    parser.add_argument("--threads", type=positive_integer, default=1, help="per process")
    parser.add_argument("--processes", type=positive_integer, default=1)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the timed run")
    parser.add_argument("--warmup-steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--learnable",
        action="store_true",
        help="labels are a fixed function of the inputs, so the loss falls as it trains",
    )
    arguments = parser.parse_args(argv)

    if arguments.batch < arguments.processes:
        parser.error(
            f"--batch {arguments.batch} is smaller than --processes {arguments.processes}: "
            "every process needs at least one row of the global batch"
        )
    if not arguments.seconds > 0:
        parser.error(f"--seconds must be above 0, got {arguments.seconds}")
    if arguments.warmup_steps < 0:
        parser.error(f"--warmup-steps must be 0 or more, got {arguments.warmup_steps}")
    return arguments


def positive_integer(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text}")
    return value


def hidden_sizes(text):
    try:
        return [positive_integer(width) for width in text.split(",")]
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 200,150, got '{text}'"
        )


def import_torch(threads):
    """Imports torch with its native thread pools limited to `threads`."""
    # OpenBLAS's pthread build sizes its pool from the environment when it
    # loads, and torch.set_num_threads reaches only OpenMP and MKL, so the
    # limits must be set before the first import. Spawned ranks inherit them.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    # torch's OpenMP threads and OpenBLAS's own take turns on the same cores.
    # OpenMP's default is to spin while it waits, which starves OpenBLAS and
    # halves the rate of 2 threads on 2 cores; passive waiting yields the core.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError as error:
        raise PeerError(
            f"PyTorch is not installed for {sys.executable} ({error}); install it "
            "(apt-get install python3-torch) or run this script with a Python that has it"
        )
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    return torch


def blas_description(torch):
    """Names the BLAS library that torch's matrix multiplies actually run on."""
    # Debian's torch links the generic libblas.so.3 (BLAS_INFO=generic), which
    # the system's alternatives point at OpenBLAS, BLIS or reference BLAS; the
    # library mapped into this process says which one it is.
    try:
        with open("/proc/self/maps") as maps:
            libraries = {line.split()[-1] for line in maps if ".so" in line}
    except OSError:
        libraries = set()
    for path in sorted(libraries):
        if "libopenblas" in os.path.basename(path):
            try:
                openblas = ctypes.CDLL(path)
                openblas.openblas_get_config.restype = ctypes.c_char_p
                config = openblas.openblas_get_config().decode()
                version = " ".join(config.split()[:2])
                threads = openblas.openblas_get_num_threads()
                return f"{version}, {threads} thread{'' if threads == 1 else 's'} ({path})"
            except (OSError, AttributeError):
                return f"OpenBLAS ({path})"
    for path in sorted(libraries):
        name = os.path.basename(path)
        if re.match(r"lib(mkl_rt|mkl_core|blis|satlas|tatlas|blas)\b", name):
            return path

    if torch.backends.mkl.is_available():
        return "MKL"
    match = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return match.group(1) if match else "unknown"


def build_model(torch, arguments):
    layers = []
    width = arguments.inputs
    for hidden in arguments.hidden:
        layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
        width = hidden
    layers.append(torch.nn.Linear(width, arguments.outputs))
    return torch.nn.Sequential(*layers)


def build_optimizer(torch, arguments, parameters):
    # The multi-tensor (foreach) update, which on the CPU torch uses only when
    # asked, halves Adam's step time against the default one-tensor-at-a-time
    # loop. Adam's epsilon is 1e-7 as in Keras and TF.js, which syncgrad follows.
    if arguments.optimizer == "adam":
        return torch.optim.Adam(
            parameters, lr=arguments.lr, betas=(0.9, 0.999), eps=1e-7, foreach=True
        )
    momentum = 0.9 if arguments.optimizer == "momentum" else 0.0
    return torch.optim.SGD(parameters, lr=arguments.lr, momentum=momentum, foreach=True)


def synthetic_pool(torch, arguments):
    """Uniform [0, 1) inputs with random labels, or learnable ones with --learnable."""
    generator = torch.Generator().manual_seed(arguments.seed)
    rows = max(POOL_ROWS, arguments.batch)
    inputs = torch.rand(rows, arguments.inputs, generator=generator)
    if arguments.learnable:
        # each label is the best-scoring class under a fixed random projection of
        # the centred inputs, so the classes are about even and a model can learn them
        projection = torch.randn(arguments.inputs, arguments.outputs, generator=generator)
        labels = ((inputs - 0.5) @ projection).argmax(dim=1)
    else:
        labels = torch.randint(0, arguments.outputs, (rows,), generator=generator)
    return inputs, labels


def shard_range(global_batch, processes, rank):
    """The rows [start, end) of the global batch that `rank` trains on."""
    base, remainder = divmod(global_batch, processes)
    start = rank * base + min(rank, remainder)
    return start, start + base + (1 if rank < remainder else 0)


class Trainer:
    """Runs real training steps over contiguous batches that cycle through the pool."""

    def __init__(self, torch, arguments, model, shard, loss_scale):
        self.model = model
        self.optimizer = build_optimizer(torch, arguments, model.parameters())
        self.loss_function = torch.nn.CrossEntropyLoss()
        self.inputs, self.labels = synthetic_pool(torch, arguments)
        self.global_batch = arguments.batch
        self.batches_in_pool = self.inputs.shape[0] // arguments.batch
        self.shard = shard
        self.loss_scale = loss_scale
        self.step_index = 0
        self.first_loss = None
        self.last_loss = None

    def run(self, steps):
        for _ in range(steps):
            self.step()

    def step(self):
        # this rank's slice of the next global batch: a view, not a copy
        offset = (self.step_index % self.batches_in_pool) * self.global_batch
        start, end = offset + self.shard[0], offset + self.shard[1]
        inputs, labels = self.inputs[start:end], self.labels[start:end]

        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_function(self.model(inputs), labels)
        if self.loss_scale == 1.0:
            loss.backward()
        else:
            (loss * self.loss_scale).backward()
        self.optimizer.step()

        self.last_loss = loss.detach()
        if self.first_loss is None:
            self.first_loss = self.last_loss.item()
        self.step_index += 1


def result(torch, arguments, trainer, steps, seconds):
    return {
        "samplesPerSecond": steps * arguments.batch / seconds,
        "steps": steps,
        "seconds": seconds,
        "threads": arguments.threads,
        "processes": arguments.processes,
        "globalBatch": arguments.batch,
        "torchVersion": torch.__version__,
        "blas": blas_description(torch),
        "firstLoss": trainer.first_loss,
        "lastLoss": trainer.last_loss.item(),
    }


def run_single_process(arguments):
    torch = import_torch(arguments.threads)
    torch.manual_seed(arguments.seed)
    trainer = Trainer(torch, arguments, build_model(torch, arguments), (0, arguments.batch), 1.0)

    trainer.run(arguments.warmup_steps)

    # time steps until --seconds have passed, checking the clock every step
    steps = 0
    start = time.perf_counter()
    while True:
        trainer.step()
        steps += 1
        seconds = time.perf_counter() - start
        if steps >= MIN_TIMED_STEPS and seconds >= arguments.seconds:
            break
    return result(torch, arguments, trainer, steps, seconds)


def run_distributed(arguments):
    torch = import_torch(arguments.threads)
    import torch.distributed as distributed
    import torch.multiprocessing as multiprocessing

    if not (distributed.is_available() and distributed.is_gloo_available()):
        raise PeerError(
            f"torch {torch.__version__} was built without torch.distributed's gloo backend, "
            "which --processes above 1 needs; run with --processes 1"
        )

    # rank 0 hands its result back through a queue, so only this process prints
    results = multiprocessing.get_context("spawn").SimpleQueue()
    ranks = multiprocessing.start_processes(
        train_rank,
        args=(arguments, free_port(), results),
        nprocs=arguments.processes,
        join=False,
        start_method="spawn",
    )

    # Once rank 0 has reported, ranks still tearing down after a grace period
    # are stopped: the measurement is done, and a rank stuck in the process
    # group's shutdown (see train_rank) must not hold up the result.
    measured, deadline = None, None
    rank_failures = (multiprocessing.ProcessRaisedException, multiprocessing.ProcessExitedException)
    try:
        while not ranks.join(timeout=0.1):
            if measured is None and not results.empty():
                measured, deadline = results.get(), time.monotonic() + TEARDOWN_SECONDS
            if deadline is not None and time.monotonic() > deadline:
                for process in ranks.processes:
                    process.kill()
                break
    except rank_failures as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        raise PeerError(f"a training process failed: {lines[-1] if lines else error}")
    return measured if measured is not None else results.get()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train_rank(rank, arguments, port, results):
    torch = import_torch(arguments.threads)
    import torch.distributed as distributed

    # A process group's worker threads can still hold the last collective's
    # tensor for a moment after the collective returns. Should they drop it
    # after its Python object is gone, they need the GIL, while the thread
    # destroying the group holds the GIL and waits for them: a deadlock at
    # exit. So the one tensor this script hands to collectives is made before
    # the group and outlives it.
    clock = torch.zeros(2, dtype=torch.float64)

    distributed.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=arguments.processes,
        timeout=datetime.timedelta(seconds=COLLECTIVE_TIMEOUT_SECONDS),
    )
    try:
        measured = train_and_time(torch, distributed, arguments, rank, clock)
    finally:
        # the model, which also refers to the group, went with train_and_time
        distributed.destroy_process_group()
    if rank == 0:
        results.put(measured)


def train_and_time(torch, distributed, arguments, rank, clock):
    """One rank's warm-up and timed run; rank 0 returns the result."""
    from torch.nn.parallel import DistributedDataParallel

    torch.manual_seed(arguments.seed)
    model = DistributedDataParallel(build_model(torch, arguments))

    # DistributedDataParallel averages the ranks' gradients; scaling each
    # shard's mean loss by its share of the global batch makes that average
    # the gradient of the global batch's mean loss, even for uneven shards
    shard = shard_range(arguments.batch, arguments.processes, rank)
    share = (shard[1] - shard[0]) / arguments.batch
    trainer = Trainer(torch, arguments, model, shard, share * arguments.processes)

    trainer.run(arguments.warmup_steps)
    steps, seconds = run_timed_steps(distributed, trainer, arguments.seconds, clock)
    return result(torch, arguments, trainer, steps, seconds) if rank == 0 else None


def run_timed_steps(distributed, trainer, seconds, clock):
    """Trains until rank 0 has timed `seconds`; returns (steps, seconds) on every rank."""
    # Every rank must run the same steps. Rank 0's clock decides, broadcast
    # after each chunk of steps rather than after every step, to keep
    # collectives other than the gradient all-reduce out of the timed loop.
    # Chunks double from one step until one lasts a tenth of the run, so the
    # run overshoots `seconds` by at most about a fifth.
    distributed.barrier()
    start = time.perf_counter()
    steps, chunk = 0, 1
    while True:
        chunk_start = time.perf_counter()
        trainer.run(chunk)
        steps += chunk
        now = time.perf_counter()
        clock[0], clock[1] = now - start, now - chunk_start
        distributed.broadcast(clock, src=0)
        elapsed, chunk_seconds = clock.tolist()
        if steps >= MIN_TIMED_STEPS and elapsed >= seconds:
            break
        if chunk_seconds < seconds / 10:
            chunk *= 2
    distributed.barrier()
    return steps, time.perf_counter() - start


def main(argv):
    arguments = parse_arguments(argv)
    try:
        if arguments.processes == 1:
            measured = run_single_process(arguments)
        else:
            measured = run_distributed(arguments)
    except PeerError as error:
        print(f"torch_peer: {error}", file=sys.stderr)
        return 2
    print(json.dumps(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
