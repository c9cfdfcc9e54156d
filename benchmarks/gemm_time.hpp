// Timing for the benchmarks: best_seconds (the best of repeated runs after a warm-up),
// and tandem's Cpu::gemm on one shape, repeated until at least `min_seconds` have passed.
#pragma once

#include <tandem/backend/cpu.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "gemm_shapes.hpp"

namespace bench {

template <class F>
double best_seconds(F&& f, int repeats) {
    f();
    double best = 1e30;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

inline double gemm_gflops(const GemmShape& s, int threads, double min_seconds = 0.4) {
    tandem::set_num_threads(threads);
    std::vector<float> a(s.m * s.k, 0.5f), b(s.k * s.n, 0.25f), c(s.m * s.n);
    const long lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
    auto run = [&] {
        tandem::Cpu::gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f,
                          c.data(), s.n);
    };
    run();
    double best = 1e30, total = 0;
    while (total < min_seconds) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::min(best, dt);
        total += dt;
    }
    return 2.0 * s.m * s.n * s.k / best / 1e9;
}

inline std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

}  // namespace bench
