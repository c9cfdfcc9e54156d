// The doctest main of the data-parallel tests, run on every rank by mpirun: MPI is up
// for the whole run, every rank runs every test case (the collectives need them all),
// ranks other than 0 report failures only, and the exit status is a failure when any
// rank failed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "world.hpp"

namespace {
tandem::dist::MpiCommunicator* communicator = nullptr;
}

tandem::dist::MpiCommunicator& tandem::testing::world() { return *communicator; }

int main(int argc, char** argv) {
    // A collective that waits a minute means a rank is lost: the test fails, it does not hang.
    const tandem::dist::MpiOptions options{.timeout = std::chrono::seconds(60)};
    return tandem::dist::run_mpi(
        argc, argv,
        [&](tandem::dist::MpiCommunicator& comm) {
            communicator = &comm;
            doctest::Context context(argc, argv);
            // mpirun gives each rank a terminal; the log summary must read as plain text.
            context.setOption("no-colors", true);
            if (comm.rank() != 0) context.setOption("minimal", true);
            double failed = context.run() != 0 ? 1 : 0;
            comm.all_reduce_sum(std::span<double>(&failed, 1));
            return failed > 0 ? 1 : 0;
        },
        options);
}
