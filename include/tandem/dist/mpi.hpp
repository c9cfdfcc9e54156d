// The Communicator over MPI (Debian's OpenMPI, started with mpirun), and run_mpi, the
// main of a data-parallel program. Every collective is non-blocking and polled against a
// deadline: one that has not completed `timeout` after this rank entered it (a peer died,
// hung, or threw and left) throws tandem::Error naming this rank, the collective and the
// bound, instead of waiting forever; run_mpi then prints the error with its rank and
// calls MPI_Abort, which ends every rank of the job. A rank that throws for any other
// reason ends the job the same way, at once.
// Only programs built with -Dmpi=true include this header (tandem_mpi_dep links MPI).
// reference: torch.distributed's ProcessGroupMPI and its timeout argument.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/dist/communicator.hpp>

// The C interface only: MPI's C++ bindings are deprecated and warn under -Wextra.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <chrono>
#include <climits>
#include <concepts>
#include <cstdint>
#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace tandem::dist {

struct MpiOptions {
    // How long a collective may wait for the other ranks before this rank gives up.
    std::chrono::milliseconds timeout = std::chrono::minutes(5);
};

class MpiCommunicator final : public Communicator {
public:
    // A private duplicate of `comm`, so its error handler (errors returned, not fatal)
    // and its collectives never touch the caller's communicator. MPI must be initialised.
    explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD, MpiOptions options = {}) : options_(options) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized)
            detail::throw_error("MpiCommunicator: MPI is not initialised (construct an MpiEnvironment ",
                                "or use run_mpi first)");
        check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
        check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
    }
    ~MpiCommunicator() override {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Comm_free(&comm_);
    }
    MpiCommunicator(const MpiCommunicator&) = delete;
    MpiCommunicator& operator=(const MpiCommunicator&) = delete;

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    const MpiOptions& options() const { return options_; }

    void barrier() override {
        MPI_Request r;
        check(MPI_Ibarrier(comm_, &r), "barrier");
        wait(r, "barrier", 0);
    }

    void broadcast(std::span<std::byte> buffer) override {
        const int n = to_int(buffer.size(), "broadcast");
        MPI_Request r;
        check(MPI_Ibcast(buffer.data(), n, MPI_BYTE, 0, comm_, &r), "broadcast");
        wait(r, "broadcast", buffer.size());
    }

    void all_reduce_sum(std::span<float> buffer) override { reduce(buffer, MPI_FLOAT); }
    void all_reduce_sum(std::span<double> buffer) override { reduce(buffer, MPI_DOUBLE); }

    void all_gather(std::span<const float> mine, std::span<float> all,
                    std::span<const std::int64_t> counts) override {
        gather(mine, all, counts, MPI_FLOAT);
    }
    void all_gather(std::span<const double> mine, std::span<double> all,
                    std::span<const std::int64_t> counts) override {
        gather(mine, all, counts, MPI_DOUBLE);
    }

    std::vector<std::int64_t> all_gather_count(std::int64_t mine) override {
        std::vector<std::int64_t> out(static_cast<std::size_t>(size_));
        MPI_Request r;
        check(MPI_Iallgather(&mine, 1, MPI_INT64_T, out.data(), 1, MPI_INT64_T, comm_, &r),
              "all_gather_count");
        wait(r, "all_gather_count", 1);
        return out;
    }

private:
    template <Scalar T>
    void reduce(std::span<T> buffer, MPI_Datatype type) {
        if (buffer.empty()) return;
        MPI_Request r;
        check(MPI_Iallreduce(MPI_IN_PLACE, buffer.data(), to_int(buffer.size(), "all_reduce"), type, MPI_SUM,
                             comm_, &r),
              "all_reduce");
        wait(r, "all_reduce", buffer.size());
    }

    template <Scalar T>
    void gather(std::span<const T> mine, std::span<T> all, std::span<const std::int64_t> counts,
                MPI_Datatype type) {
        if (counts.size() != static_cast<std::size_t>(size_))
            detail::throw_error(where(), "all_gather: expected ", size_, " counts (one per rank), found ",
                                counts.size());
        std::vector<int> n(counts.size()), at(counts.size());
        std::size_t total = 0;
        for (std::size_t i = 0; i < counts.size(); ++i) {
            n[i] = to_int(static_cast<std::size_t>(counts[i]), "all_gather");
            at[i] = to_int(total, "all_gather");
            total += static_cast<std::size_t>(counts[i]);
        }
        if (static_cast<std::size_t>(counts[rank_]) != mine.size() || total != all.size())
            detail::throw_error(where(), "all_gather: this rank sends ", mine.size(), " elements into ",
                                all.size(), "; the counts say ", counts[rank_], " into ", total);
        MPI_Request r;
        check(MPI_Iallgatherv(mine.data(), n[rank_], type, all.data(), n.data(), at.data(), type, comm_, &r),
              "all_gather");
        wait(r, "all_gather", total);
    }

    // Polls `request` until it completes or the deadline passes. The first polls spin
    // (small collectives finish in microseconds); later ones sleep briefly so that a rank
    // waiting for a slower one leaves the cores to it when ranks share a machine.
    void wait(MPI_Request& request, const char* what, std::size_t elements) {
        ++collectives_;
        const auto start = std::chrono::steady_clock::now();
        for (int polls = 0;; ++polls) {
            int done = 0;
            check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
            if (done) return;
            if (std::chrono::steady_clock::now() - start > options_.timeout) {
                // The request cannot be completed or cancelled portably; the caller ends the job.
                detail::throw_error(where(), what, " (", elements, " elements, collective ", collectives_,
                                    " of this rank) did not complete within ",
                                    std::chrono::duration<double>(options_.timeout).count(),
                                    " s: another rank stopped, died or hung before reaching it");
            }
            if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }

    void check(int code, const char* what) const {
        if (code == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        MPI_Error_string(code, text, &length);
        detail::throw_error(where(), what, " failed: ", std::string(text, static_cast<std::size_t>(length)));
    }

    int to_int(std::size_t n, const char* what) const {
        if (n > static_cast<std::size_t>(INT_MAX))
            detail::throw_error(where(), what, ": ", n, " elements exceed MPI's count limit of ", INT_MAX,
                                "; split the buffer");
        return static_cast<int>(n);
    }

    std::string where() const {
        return "rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": ";
    }

    MPI_Comm comm_ = MPI_COMM_NULL;
    MpiOptions options_;
    int rank_ = 0, size_ = 1;
    std::uint64_t collectives_ = 0;
};

// MPI_Init_thread on construction (funnelled: only the thread that made it calls MPI;
// OpenMP workers never do), MPI_Finalize on destruction; a no-op when MPI is already up.
class MpiEnvironment {
public:
    MpiEnvironment(int& argc, char**& argv) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (initialized) return;
        int provided = 0;
        if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            detail::throw_error(
                "MpiEnvironment: MPI_Init_thread failed (was the program started by mpirun?)");
        owner_ = true;
    }
    ~MpiEnvironment() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owner_ && !finalized) MPI_Finalize();
    }
    MpiEnvironment(const MpiEnvironment&) = delete;
    MpiEnvironment& operator=(const MpiEnvironment&) = delete;

private:
    bool owner_ = false;
};

// The main of a data-parallel program: `body(communicator)` on every rank, returning
// the exit status. An exception on any rank (a timed-out collective included) prints
// "tandem: rank r of n failed: <what>" and aborts the whole job with status 1, so the other
// ranks end within their next poll instead of at their own timeout.
template <class Body>
requires std::invocable<Body&, MpiCommunicator&>
int run_mpi(int& argc, char**& argv, Body&& body, MpiOptions options = {}) {
    MpiEnvironment env(argc, argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    try {
        MpiCommunicator comm(MPI_COMM_WORLD, options);
        return static_cast<int>(body(comm));
    } catch (const std::exception& e) {
        // The communicator's own errors already begin with the rank.
        const std::string who = "rank " + std::to_string(rank) + " of " + std::to_string(size);
        const std::string what = e.what();
        std::cerr << "tandem: " << (what.starts_with(who + ": ") ? what : who + " failed: " + what)
                  << std::endl;
        MPI_Abort(MPI_COMM_WORLD, 1);
        return 1;
    }
}

}  // namespace tandem::dist
