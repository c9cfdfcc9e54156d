// A file kept open for reading byte ranges back with pread, shared by every cell that
// lives in it (rows of a CSV or JSONL file, members of a tar shard), so a dataset
// holds offsets, not copies, and no cell opens the file again.
#pragma once

#include <tandem/core/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

namespace tandem::data::detail {

class OpenFile {
public:
    // `what` says what the file was expected to be, for the error when it does not exist.
    OpenFile(std::filesystem::path path, const char* what) : path_(std::move(path)) {
        if (!std::filesystem::is_regular_file(path_))
            tandem::detail::throw_error(path_.string(), ": no such file (expected ", what, ")");
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) tandem::detail::throw_error(path_.string(), ": cannot open: ", std::strerror(errno));
    }
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    ~OpenFile() { ::close(fd_); }

    const std::filesystem::path& path() const { return path_; }

    // Up to `size` bytes at `offset` into `out`; the count read (0 at the end of the file).
    std::size_t read_some(void* out, std::size_t size, std::uint64_t offset) const {
        const ssize_t n = ::pread(fd_, out, size, static_cast<off_t>(offset));
        if (n < 0) tandem::detail::throw_error(path_.string(), ": read error: ", std::strerror(errno));
        return static_cast<std::size_t>(n);
    }

    // Exactly `size` bytes at `offset`; `who` names them if the file has become shorter.
    template <class Bytes>
    Bytes read(std::uint64_t offset, std::size_t size, const std::string& who) const {
        Bytes out(size, 0);
        for (std::size_t done = 0; done < size;) {
            const std::size_t n = read_some(out.data() + done, size - done, offset + done);
            if (n == 0)
                tandem::detail::throw_error(who, ": cannot read ", size, " bytes at offset ", offset, " of ",
                                            path_.string(), " (the file changed after it was indexed)");
            done += n;
        }
        return out;
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

}  // namespace tandem::data::detail
