// A text file read record by record: one streaming pass builds an index of record
// offsets and line numbers, and record i is read back later with one pread, so a
// file larger than memory costs only its index. Shared by the CSV and JSONL readers.
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
#include <vector>

namespace tandem::data::detail {

class RecordFile {
public:
    explicit RecordFile(std::filesystem::path path) : path_(std::move(path)) {
        if (!std::filesystem::is_regular_file(path_))
            tandem::detail::throw_error(path_.string(), ": no such file (expected a data file)");
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) tandem::detail::throw_error(path_.string(), ": cannot open: ", std::strerror(errno));
    }
    RecordFile(const RecordFile&) = delete;
    RecordFile& operator=(const RecordFile&) = delete;
    ~RecordFile() {
        if (fd_ >= 0) ::close(fd_);
    }

    const std::filesystem::path& path() const { return path_; }

    // Calls `byte(offset, c)` for every byte of the file, in order, reading 1 MiB at a time.
    template <class F>
    void scan(F&& byte) const {
        std::vector<char> buffer(1 << 20);
        std::uint64_t offset = 0;
        for (;;) {
            const ssize_t n = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset));
            if (n < 0) tandem::detail::throw_error(path_.string(), ": read error: ", std::strerror(errno));
            if (n == 0) return;
            for (ssize_t i = 0; i < n; ++i) byte(offset + static_cast<std::uint64_t>(i), buffer[i]);
            offset += static_cast<std::uint64_t>(n);
        }
    }

    // Records are [begin, end) byte ranges starting on `line`.
    void add(std::uint64_t begin, std::uint64_t end, std::uint64_t line) {
        begins_.push_back(begin);
        ends_.push_back(end);
        lines_.push_back(line);
    }
    std::size_t size() const { return begins_.size(); }
    std::uint64_t line(std::size_t i) const { return lines_[i]; }
    std::string where(std::size_t i) const { return path_.string() + " line " + std::to_string(lines_[i]); }

    std::string read(std::size_t i) const {
        std::string out(ends_[i] - begins_[i], '\0');
        std::size_t done = 0;
        while (done < out.size()) {
            const ssize_t n =
                ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(begins_[i] + done));
            if (n <= 0)
                tandem::detail::throw_error(where(i), ": cannot read the record back (the file changed or ",
                                            n < 0 ? std::strerror(errno) : "was truncated", ")");
            done += static_cast<std::size_t>(n);
        }
        return out;
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::uint64_t> begins_, ends_, lines_;
};

}  // namespace tandem::data::detail
