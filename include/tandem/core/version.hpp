// The library's version, as meson.build's project() states it (a test checks they agree);
// saved folders record it.
#pragma once

namespace tandem {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace tandem
