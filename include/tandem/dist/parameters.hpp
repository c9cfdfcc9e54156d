// Data-parallel state over a ParameterStore's arenas: rank 0's weights on every rank at
// the start (every replica starts equal), and the gradient arena averaged over ranks
// after backward (every replica takes the same step). Each is a pass over the arena in
// buckets staged through host memory with the backend's copy functions, so any backend
// works and the staging buffer stays one bucket long.
// reference: torch DistributedDataParallel (_sync_module_states at construction; the
// bucketed gradient all-reduce of its Reducer, bucket_cap_mb = 25).
#pragma once

#include <tandem/autograd/parameter_store.hpp>
#include <tandem/dist/communicator.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

namespace tandem::detail {

// f(span) over host copies of the arena, a bucket at a time, each copied back when
// `write_back`.
template <Backend B, Scalar T, class F>
void dist_for_each_bucket(const Tensor<B, T>& arena, index_t bucket, bool write_back, F&& f) {
    if (bucket <= 0) throw_error("dist: bucket_elements must be positive, found ", bucket);
    const index_t n = arena.numel();
    std::vector<T> host(static_cast<std::size_t>(std::min(n, bucket)));
    for (index_t begin = 0; begin < n; begin += bucket) {
        const index_t count = std::min(bucket, n - begin);
        const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(T);
        B::copy_to_host(host.data(), arena.data() + begin, bytes);
        f(std::span<T>(host.data(), static_cast<std::size_t>(count)));
        if (write_back) B::copy_from_host(arena.data() + begin, host.data(), bytes);
    }
}

}  // namespace tandem::detail

namespace tandem::dist {

// About 16 MiB of float per bucket: large enough that the per-call latency is amortised,
// small enough that the host copy is no second arena.
inline constexpr index_t default_bucket_elements = index_t{1} << 22;

// Every rank's parameter values become rank 0's (bf16 storage copies follow on next read).
template <Backend B, Scalar T>
void broadcast_parameters(Communicator& comm, ParameterStore<B, T>& store,
                          index_t bucket_elements = default_bucket_elements) {
    if (comm.size() == 1) return;
    tandem::detail::dist_for_each_bucket(store.values(), bucket_elements, true, [&](std::span<T> values) {
        comm.broadcast(std::as_writable_bytes(values));
    });
}

// The gradient arena becomes its mean over ranks: with each rank's loss its share of the
// global batch's loss times the world size, the gradient of the global batch's loss.
template <Backend B, Scalar T>
void all_reduce_gradients(Communicator& comm, ParameterStore<B, T>& store,
                          index_t bucket_elements = default_bucket_elements) {
    if (comm.size() == 1) return;
    auto grads = store.grads();
    tandem::detail::dist_for_each_bucket(grads, bucket_elements, true,
                                         [&](std::span<T> g) { comm.all_reduce_sum(g); });
    if (grads.numel()) B::scale(grads.data(), grads.data(), T(1) / T(comm.size()), grads.numel(), false);
}

// The mean of one number over ranks (a step's loss, for logs every rank agrees on).
inline double mean_over_ranks(Communicator& comm, double value) {
    if (comm.size() == 1) return value;
    comm.all_reduce_sum(std::span<double>(&value, 1));
    return value / double(comm.size());
}

}  // namespace tandem::dist
