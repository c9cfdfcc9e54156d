// One threading runtime for everything: OpenMP. GEMM (Eigen or OpenBLAS's OpenMP
// build) and every other kernel share one pool, so threads never fight over cores.
#pragma once

#include <tandem/core/error.hpp>

#include <omp.h>

namespace tandem {

inline void set_num_threads(int n) {
    if (n < 1) detail::throw_error("set_num_threads: expected at least 1 thread, found ", n);
    omp_set_num_threads(n);
}

inline int get_num_threads() { return omp_get_max_threads(); }

namespace detail {
// Below this many elements a loop runs on one thread: the fork costs more than it saves.
inline constexpr long parallel_threshold = 1 << 15;
}  // namespace detail

}  // namespace tandem
