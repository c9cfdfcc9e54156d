#!/usr/bin/python3
"""The GEMM shapes of benchmarks/gemm_shapes.hpp through PyTorch and NumPy.

Prints one line per shape: "index threads torch_gflops numpy_gflops". Run with
OMP_WAIT_POLICY=PASSIVE and OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set to the thread
count (benchmarks/gemm does so): NumPy's OpenBLAS reads them at start-up only.
"""
import sys
import time

import numpy as np
import torch

SHAPES = [  # (trans_a, trans_b, m, n, k), as in gemm_shapes.hpp
    (False, False, 2048, 2048, 2048),
    (False, True, 1600, 768, 768),
    (False, True, 1600, 3072, 768),
    (False, True, 1600, 768, 3072),
    (False, False, 1600, 3072, 768),
    (False, False, 1600, 768, 3072),
    (True, False, 3072, 768, 1600),
    (True, False, 768, 768, 1600),
]


def best_time(fn, min_seconds=0.4):
    fn()
    best, total = float("inf"), 0.0
    while total < min_seconds:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total = min(best, dt), total + dt
    return best


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    for i, (ta, tb, m, n, k) in enumerate(SHAPES):
        a = np.full((k, m) if ta else (m, k), 0.5, np.float32)
        b = np.full((n, k) if tb else (k, n), 0.25, np.float32)
        ta_, tb_ = torch.from_numpy(a), torch.from_numpy(b)
        opa, opb = (ta_.t() if ta else ta_), (tb_.t() if tb else tb_)
        out = torch.empty(m, n)
        t_torch = best_time(lambda: torch.mm(opa, opb, out=out))
        na, nb = (a.T if ta else a), (b.T if tb else b)
        t_numpy = best_time(lambda: np.matmul(na, nb))
        flops = 2.0 * m * n * k
        print(f"{i} {threads} {flops / t_torch / 1e9:.2f} {flops / t_numpy / 1e9:.2f}", flush=True)


if __name__ == "__main__":
    main()
