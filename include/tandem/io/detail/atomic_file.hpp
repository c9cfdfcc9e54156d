// io::atomic_write: the one atomic writer (core/detail/atomic_file.hpp) under the
// name the io layer and its users have always called it by.
#pragma once

#include <tandem/core/detail/atomic_file.hpp>

namespace tandem::io {

using detail::atomic_write;

}  // namespace tandem::io
