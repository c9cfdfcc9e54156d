// Host memory for the CPU backend: 64-byte aligned so Eigen and the compiler can use
// full-width vector loads on any row that starts at an aligned offset.
#pragma once

#include <tandem/core/error.hpp>

#include <cstdlib>
#include <cstring>
#include <new>

namespace tandem::cpu {

struct Memory {
    static constexpr std::size_t alignment = 64;

    static void* allocate(std::size_t bytes) {
        void* p = std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
        if (!p) detail::throw_error("Cpu::allocate: out of memory allocating ", bytes, " bytes");
        return p;
    }
    static void deallocate(void* p, std::size_t) { std::free(p); }
    static void copy(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
    static void copy_to_host(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
    static void copy_from_host(void* dst, const void* src, std::size_t bytes) {
        std::memcpy(dst, src, bytes);
    }
    static void zero(void* dst, std::size_t bytes) { std::memset(dst, 0, bytes); }
};

}  // namespace tandem::cpu
