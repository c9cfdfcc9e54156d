// A text file read record by record: one streaming pass builds an index of record
// offsets and line numbers, and record i is read back later with one pread, so a
// file larger than memory costs only its index. Shared by the CSV and JSONL readers.
#pragma once

#include <tandem/data/detail/open_file.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tandem::data::detail {

class RecordFile {
public:
    explicit RecordFile(std::filesystem::path path) : file_(std::move(path), "a data file") {}

    const std::filesystem::path& path() const { return file_.path(); }

    // Calls `byte(offset, c)` for every byte of the file, in order, reading 1 MiB at a time.
    template <class F>
    void scan(F&& byte) const {
        std::vector<char> buffer(1 << 20);
        for (std::uint64_t offset = 0;;) {
            const std::size_t n = file_.read_some(buffer.data(), buffer.size(), offset);
            if (n == 0) return;
            for (std::size_t i = 0; i < n; ++i) byte(offset + i, buffer[i]);
            offset += n;
        }
    }

    // Records are [begin, end) byte ranges starting on `line`.
    void add(std::uint64_t begin, std::uint64_t end, std::uint64_t line) {
        begins_.push_back(begin);
        ends_.push_back(end);
        lines_.push_back(line);
    }
    std::size_t size() const { return begins_.size(); }
    std::string where(std::size_t i) const { return path().string() + " line " + std::to_string(lines_[i]); }

    std::string read(std::size_t i) const {
        return file_.read<std::string>(begins_[i], static_cast<std::size_t>(ends_[i] - begins_[i]), where(i));
    }

private:
    OpenFile file_;
    std::vector<std::uint64_t> begins_, ends_, lines_;
};

}  // namespace tandem::data::detail
