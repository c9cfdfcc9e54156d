// Peak memory of a piece of work, read from the CPU allocator's counters.
#pragma once

#include <tandem/backend/cpu.hpp>

namespace tandem::testing {

// Peak bytes above what was allocated before f ran, in MiB (freed blocks cached for
// reuse are emptied first, so they do not count).
template <class F>
double peak_growth_mib(F&& f) {
    Cpu::empty_cache();
    const double before = double(Cpu::allocated_bytes());
    Cpu::reset_peak();
    f();
    return (double(Cpu::peak_allocated_bytes()) - before) / (1 << 20);
}

}  // namespace tandem::testing
