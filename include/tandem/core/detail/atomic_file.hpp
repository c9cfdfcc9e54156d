// atomic_write: replace a file so that readers see either the old contents or the
// complete new ones, never a half-written file. The data goes to a temporary file
// in the same directory (same file system, so rename is atomic) and is renamed over
// the target only after every byte is written and flushed to disk. It lives in
// core/ because every layer that saves a file (text/ for tokenizer.json, io/ for
// checkpoints and configs) must use this one writer, and core/ is below them all.
#pragma once

#include <tandem/core/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <concepts>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>

namespace tandem::detail {

// Unique among threads and processes writing into the same directory at once.
inline std::filesystem::path temporary_sibling(const std::filesystem::path& path) {
    static std::atomic<unsigned long> counter{0};
    const std::string name = "." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter.fetch_add(1));
    return path.parent_path() / name;
}

// Without fsync a crash shortly after the rename can leave an empty file under the
// final name on some file systems (ext4 data=writeback, xfs).
inline void fsync_path(const std::filesystem::path& path, bool directory) {
    const int fd =
        ::open(path.empty() ? "." : path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
    if (fd < 0) {
        if (directory) return;  // best effort: some file systems refuse to open directories
        throw_error(path.string(), ": cannot reopen to flush: ", std::strerror(errno));
    }
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0 && !directory) throw_error(path.string(), ": fsync failed: ", std::strerror(err));
}

// Calls write(stream) to fill a temporary file, then renames it to `path`. If write
// throws or any step fails, the temporary file is removed, `path` is left exactly as
// it was and the exception propagates (I/O failures as tandem::Error naming the file).
template <class WriteFn>
requires std::invocable<WriteFn&, std::ostream&>
void atomic_write(const std::filesystem::path& path, WriteFn&& write) {
    const auto tmp = temporary_sibling(path);
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw_error(path.string(), ": cannot create temporary file ", tmp.string(), ": ",
                    std::strerror(errno));
    }
    try {
        write(static_cast<std::ostream&>(out));
        out.flush();
        if (!out) throw_error(path.string(), ": writing ", tmp.string(), " failed (disk full?)");
        out.close();
        if (out.fail()) throw_error(path.string(), ": closing ", tmp.string(), " failed");
        fsync_path(tmp, false);
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec) throw_error(path.string(), ": cannot rename ", tmp.string(), " over it: ", ec.message());
    } catch (...) {
        if (out.is_open()) out.close();
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw;
    }
    fsync_path(path.parent_path(), true);
}

inline void atomic_write(const std::filesystem::path& path, std::string_view contents) {
    atomic_write(path,
                 [&](std::ostream& out) { out.write(contents.data(), std::streamsize(contents.size())); });
}

}  // namespace tandem::detail
