// The communicator over every rank of the mpirun that started the test executable.
#pragma once

#include <tandem/dist/mpi.hpp>

namespace tandem::testing {

dist::MpiCommunicator& world();

}  // namespace tandem::testing
