// The data-parallel layer without MPI: the Communicator interface, parameter broadcast
// and gradient all-reduce, all_gather with gradient, the gathered-negative loss and the
// DistributedSampler. The MPI implementation, dist/mpi.hpp, is included on its own by
// programs built with -Dmpi=true.
#pragma once

#include <tandem/dist/all_gather.hpp>
#include <tandem/dist/communicator.hpp>
#include <tandem/dist/gathered_loss.hpp>
#include <tandem/dist/parameters.hpp>
#include <tandem/dist/sampler.hpp>
