// MappedFile: a read-only POSIX memory map of a whole file, unmapped when the
// object dies. safetensors checkpoints are read through it so that opening a
// multi-gigabyte file costs no copy and only the tensors read are paged in.
#pragma once

#include <tandem/core/error.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <utility>

namespace tandem::detail {

class MappedFile {
public:
    MappedFile() = default;

    explicit MappedFile(const std::filesystem::path& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw_error(path.string(), ": cannot open for reading: ", std::strerror(errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int err = errno;
            ::close(fd);
            throw_error(path.string(), ": cannot stat: ", std::strerror(err));
        }
        if (!S_ISREG(st.st_mode)) {
            ::close(fd);
            throw_error(path.string(), ": expected a regular file");
        }
        size_ = static_cast<std::size_t>(st.st_size);
        // mmap rejects a zero length; an empty file is simply an empty span.
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                const int err = errno;
                ::close(fd);
                throw_error(path.string(), ": cannot memory-map ", size_, " bytes: ", std::strerror(err));
            }
            data_ = static_cast<const std::byte*>(p);
        }
        // The mapping keeps the file's pages alive; the descriptor is no longer needed.
        ::close(fd);
    }

    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    MappedFile(MappedFile&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    MappedFile& operator=(MappedFile&& other) noexcept {
        if (this != &other) {
            unmap();
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    ~MappedFile() { unmap(); }

    std::span<const std::byte> bytes() const { return {data_, size_}; }
    std::size_t size() const { return size_; }

private:
    void unmap() noexcept {
        if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
        data_ = nullptr;
        size_ = 0;
    }

    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace tandem::detail
