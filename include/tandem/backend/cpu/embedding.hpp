// Row gather and its gradient, scatter-add: embedding lookup, EOS/CLS pooling.
// reference: torch.nn.functional.embedding (with padding_idx), torch.index_select(dim=0).
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>

#include <cstdint>

namespace tandem::cpu {

struct Embedding {
    // out[i] = table[ids[i]]. Callers check ids are in range.   shapes: table [rows, dim]; out [n, dim]
    template <class T>
    static void gather_rows(T* out, const T* table, const std::int64_t* ids, index_t n, index_t dim) {
#pragma omp parallel for schedule(static) if (n * dim > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i)
            for (index_t c = 0; c < dim; ++c) out[i * dim + c] = table[ids[i] * dim + c];
    }

    // dtable[ids[i]] += dout[i], except for ids equal to `skip` (nn.Embedding's padding_idx,
    // whose row never gets a gradient; -1 skips nothing, ids being non-negative). Threads
    // split the columns, and each walks i in order, so repeated ids accumulate in the same
    // order at any thread count.
    template <class T>
    static void scatter_add_rows(T* dtable, const T* dout, const std::int64_t* ids, index_t n, index_t dim,
                                 std::int64_t skip) {
        constexpr index_t block = 16;
        const index_t blocks = (dim + block - 1) / block;
#pragma omp parallel for schedule(static) if (n * dim > detail::parallel_threshold)
        for (index_t b = 0; b < blocks; ++b) {
            const index_t c0 = b * block, c1 = std::min(dim, c0 + block);
            for (index_t i = 0; i < n; ++i) {
                if (ids[i] == skip) continue;
                for (index_t c = c0; c < c1; ++c) dtable[ids[i] * dim + c] += dout[i * dim + c];
            }
        }
    }
};

}  // namespace tandem::cpu
