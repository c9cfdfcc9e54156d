// tandem's GEMM built on Eigen's own kernel (no EIGEN_USE_BLAS). Prints one line per
// shape and thread count: "index threads gflops". Run by benchmarks/gemm.
#include <cstdio>

#include "gemm_time.hpp"

int main() {
    for (int threads : {1, 2})
        for (std::size_t i = 0; i < bench::clip_step_shapes.size(); ++i)
            std::printf("%zu %d %.2f\n", i, threads, bench::gemm_gflops(bench::clip_step_shapes[i], threads));
}
