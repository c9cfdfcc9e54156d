// Communicator: the collectives data-parallel training needs (rank, world size, barrier,
// broadcast from rank 0, in-place sum all-reduce, all-gather of blocks), over host
// buffers, behind one interface: the trainer and the autograd op depend on no MPI header,
// dist/mpi.hpp implements it with MPI, and a single-process build never sees <mpi.h>.
// Every rank calls the same collectives in the same order; a failure throws
// tandem::Error naming the rank that saw it.
// reference: torch.distributed's ProcessGroup (broadcast, all_reduce, all_gather, barrier).
#pragma once

#include <tandem/core/dtype.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tandem::dist {

class Communicator {
public:
    virtual ~Communicator() = default;

    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Where logs, evaluation and checkpoints happen (transformers' is_world_process_zero).
    bool is_main_process() const { return rank() == 0; }

    virtual void barrier() = 0;
    // Rank 0's bytes into `buffer` on every rank; every rank passes the same length.
    virtual void broadcast(std::span<std::byte> buffer) = 0;
    // In place: every rank ends with the element-wise sum over ranks.
    virtual void all_reduce_sum(std::span<float> buffer) = 0;
    virtual void all_reduce_sum(std::span<double> buffer) = 0;
    // Every rank's `mine` in rank order into `all`; counts[r] is rank r's length and
    // counts[rank()] == mine.size().
    virtual void all_gather(std::span<const float> mine, std::span<float> all,
                            std::span<const std::int64_t> counts) = 0;
    virtual void all_gather(std::span<const double> mine, std::span<double> all,
                            std::span<const std::int64_t> counts) = 0;
    // One integer from every rank, in rank order (the row counts an all_gather needs).
    virtual std::vector<std::int64_t> all_gather_count(std::int64_t mine) = 0;
};

}  // namespace tandem::dist
