// all_gather with gradient: every rank's block of rows [rows_r, ...] concatenated in rank
// order on every rank, as an autograd op. Its backward sums the upstream gradient over
// ranks and keeps this rank's rows: each rank's loss may read every rank's embeddings
// (gathered negatives), and the gradient of the sum of all ranks' losses reaches each
// rank's own embeddings. Backward is a collective, so every rank back-propagates through
// its gathers in the same order, as the same loss on every rank does.
// reference: torch.distributed.nn.functional.all_gather (backward: reduce-scatter), as
// open_clip's gather_features(gather_with_grad=True) uses it.
#pragma once

#include <tandem/autograd/ops/common.hpp>
#include <tandem/dist/communicator.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace tandem::dist {

// The gathered rows and where this rank's own rows lie among them.
template <Backend B, Scalar T>
struct GatheredRows {
    Var<B, T> all;
    index_t begin = 0, end = 0;
};

// shapes: x [rows, ...] (rows may differ per rank, the other dimensions may not);
// all [sum of rows over ranks, ...]
template <Backend B, Scalar T>
GatheredRows<B, T> all_gather(Communicator& comm, const Var<B, T>& x) {
    auto& g = tandem::detail::graph_of("all_gather", x);
    const Shape& s = x.shape();
    tandem::detail::check_rank_at_least("all_gather", s, 1);
    const index_t width = s.inner(0);
    const auto counts = comm.all_gather_count(s.numel());
    index_t begin = 0, total = 0;
    for (int r = 0; r < comm.size(); ++r) {
        if (width == 0 || counts[r] % width != 0)
            tandem::detail::throw_error("all_gather: rank ", comm.rank(), " gathers rows of shape ", s.str(),
                                        " but rank ", r, " sends ", counts[r],
                                        " elements, not a whole number of such rows");
        if (r < comm.rank()) begin += counts[r] / width;
        total += counts[r];
    }
    Shape out_shape = s;
    out_shape[0] = total / width;
    std::vector<T> all(static_cast<std::size_t>(total));
    const auto mine = x.value().to_vector();
    comm.all_gather(std::span<const T>(mine), std::span<T>(all), std::span<const std::int64_t>(counts));
    auto y = Tensor<B, T>::from_vector(all, out_shape);
    const index_t n = s.numel(), first = begin * width;
    Communicator* c = &comm;
    const int ix = x.index;
    auto out = g.record("all_gather", y, {x}, [=](Graph<B, T>& g, int self) {
        auto upstream = g.grad_buffer(self).to_vector();
        c->all_reduce_sum(std::span<T>(upstream));
        const auto own = Tensor<B, T>::from_host(upstream.data() + first, s);
        auto dx = g.grad_buffer(ix);
        B::binary(BinaryOp::Add, dx.data(), dx.data(), n, own.data(), n);
    });
    return {out, begin, begin + s[0]};
}

}  // namespace tandem::dist
