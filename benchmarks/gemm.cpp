// GFLOP/s of tandem's GEMM on the shapes of a CLIP ViT-B/32 training step, at 1 and 2
// threads, beside Eigen's own kernel (the gemm_eigen program), PyTorch and NumPy
// (Debian's python3-torch / python3-numpy, OMP_WAIT_POLICY=PASSIVE) in the same run.
// Run from the build directory: benchmarks/gemm [path/to/gemm_reference.py]
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>

#include "gemm_time.hpp"

namespace {

// Runs a command and reads "index threads value [value]" lines into `out`.
void read_results(const std::string& command, std::map<std::pair<int, int>, std::pair<double, double>>& out) {
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return;
    int index, threads;
    double a, b = 0;
    char line[256];
    while (std::fgets(line, sizeof line, pipe)) {
        const int n = std::sscanf(line, "%d %d %lf %lf", &index, &threads, &a, &b);
        if (n >= 3) out[{index, threads}] = {a, n == 4 ? b : 0.0};
    }
    pclose(pipe);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string self = argv[0];
    const std::string dir = self.substr(0, self.find_last_of('/') + 1);
    const std::string script = argc > 1 ? argv[1] : dir + "../../benchmarks/gemm_reference.py";

    std::map<std::pair<int, int>, std::pair<double, double>> eigen, reference;
    read_results(dir + "gemm_eigen", eigen);
    for (int threads : {1, 2}) {
        const std::string t = std::to_string(threads);
        read_results("OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=" + t + " OPENBLAS_NUM_THREADS=" + t +
                         " /usr/bin/python3 " + script + " " + t + " 2>/dev/null",
                     reference);
    }

    std::printf("machine: %s, %d hardware threads\n", bench::cpu_model().c_str(), omp_get_num_procs());
    std::printf("tandem GEMM: %s\n\n",
#ifdef EIGEN_USE_BLAS
                "Eigen with EIGEN_USE_BLAS (OpenBLAS, OpenMP build)"
#else
                "Eigen's own kernel"
#endif
    );
    std::printf(
        "| shape (M x N x K) | op | threads | tandem | Eigen only | PyTorch | NumPy | tandem / PyTorch |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (int threads : {1, 2})
        for (std::size_t i = 0; i < bench::clip_step_shapes.size(); ++i) {
            const auto& s = bench::clip_step_shapes[i];
            const double ours = bench::gemm_gflops(s, threads);
            const auto e = eigen[{int(i), threads}];
            const auto r = reference[{int(i), threads}];
            std::printf("| %ld x %ld x %ld | %s | %d | %.1f | %.1f | %.1f | %.1f | %.2f |\n", s.m, s.n, s.k,
                        s.what, threads, ours, e.first, r.first, r.second,
                        r.first > 0 ? ours / r.first : 0.0);
        }
    std::printf("\nGFLOP/s, best of repeated runs over at least 0.4 s each.\n");
}
