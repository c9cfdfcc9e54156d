// Sealed: the CPU kernels behind memory that host code cannot touch. Every buffer is its
// own mapping, protected (PROT_NONE) except while a kernel or an explicit copy runs, so
// any host read or write of tensor memory outside backend code faults at once. Tests run
// models, losses and optimizers on it to prove the Backend contract admits a device
// backend: nothing outside backend/ reaches tensor memory.
#pragma once

#include <tandem/backend/cpu.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <utility>

namespace tandem::testing {

namespace detail {
class SealedHeap {
public:
    static SealedHeap& instance() {
        static SealedHeap heap;
        return heap;
    }

    void* allocate(std::size_t bytes) {
        const std::size_t length = pages(bytes);
        void* p = mmap(nullptr, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            tandem::detail::throw_error("Sealed::allocate: mmap of ", length, " bytes failed");
        std::lock_guard lock(mutex_);
        blocks_[p] = length;
        if (open_ > 0) protect(p, length, PROT_READ | PROT_WRITE);
        return p;
    }

    void deallocate(void* p) {
        std::lock_guard lock(mutex_);
        auto it = blocks_.find(p);
        if (it == blocks_.end()) tandem::detail::throw_error("Sealed::deallocate: unknown block");
        munmap(p, it->second);
        blocks_.erase(it);
    }

    // Opens every block for reading and writing; the last close seals them again.
    void open() {
        std::lock_guard lock(mutex_);
        if (open_++ == 0)
            for (auto& [p, length] : blocks_) protect(p, length, PROT_READ | PROT_WRITE);
    }
    void close() {
        std::lock_guard lock(mutex_);
        if (--open_ == 0)
            for (auto& [p, length] : blocks_) protect(p, length, PROT_NONE);
    }

private:
    static std::size_t pages(std::size_t bytes) {
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        return (bytes + page - 1) / page * page;
    }
    static void protect(void* p, std::size_t length, int mode) {
        if (mprotect(p, length, mode) != 0) tandem::detail::throw_error("Sealed: mprotect failed");
    }

    std::mutex mutex_;
    std::map<void*, std::size_t> blocks_;
    int open_ = 0;
};

// Tensor memory is reachable while one of these lives: inside a kernel or a copy.
struct Unsealed {
    Unsealed() { SealedHeap::instance().open(); }
    ~Unsealed() { SealedHeap::instance().close(); }
    Unsealed(const Unsealed&) = delete;
    Unsealed& operator=(const Unsealed&) = delete;
};
}  // namespace detail

// Each kernel of the CPU backend, run with the memory unsealed.
#define TANDEM_SEALED_KERNEL(name)                              \
    template <class... Args>                                    \
    static decltype(auto) name(Args&&... args) {                \
        detail::Unsealed open;                                  \
        return backend::Cpu::name(std::forward<Args>(args)...); \
    }

struct Sealed {
    static constexpr const char* name = "sealed";

    static void* allocate(std::size_t bytes) { return detail::SealedHeap::instance().allocate(bytes); }
    static void deallocate(void* p, std::size_t) { detail::SealedHeap::instance().deallocate(p); }
    static void synchronize() {}

    TANDEM_SEALED_KERNEL(copy)
    TANDEM_SEALED_KERNEL(copy_to_host)
    TANDEM_SEALED_KERNEL(copy_from_host)
    TANDEM_SEALED_KERNEL(zero)
    TANDEM_SEALED_KERNEL(gemm)
    TANDEM_SEALED_KERNEL(gemm_batched)
    TANDEM_SEALED_KERNEL(binary)
    TANDEM_SEALED_KERNEL(binary_bwd)
    TANDEM_SEALED_KERNEL(scale)
    TANDEM_SEALED_KERNEL(unary)
    TANDEM_SEALED_KERNEL(unary_bwd)
    TANDEM_SEALED_KERNEL(sum_axis)
    TANDEM_SEALED_KERNEL(sum_axis_bwd)
    TANDEM_SEALED_KERNEL(sum_all)
    TANDEM_SEALED_KERNEL(max_axis)
    TANDEM_SEALED_KERNEL(max_axis_bwd)
    TANDEM_SEALED_KERNEL(permute)
    TANDEM_SEALED_KERNEL(copy_along_axis)
    TANDEM_SEALED_KERNEL(softmax)
    TANDEM_SEALED_KERNEL(softmax_bwd)
    TANDEM_SEALED_KERNEL(cross_entropy)
    TANDEM_SEALED_KERNEL(cross_entropy_bwd)
    TANDEM_SEALED_KERNEL(bce_with_logits)
    TANDEM_SEALED_KERNEL(bce_with_logits_bwd)
    TANDEM_SEALED_KERNEL(layer_norm)
    TANDEM_SEALED_KERNEL(layer_norm_bwd)
    TANDEM_SEALED_KERNEL(l2_normalize)
    TANDEM_SEALED_KERNEL(l2_normalize_bwd)
    TANDEM_SEALED_KERNEL(gather_rows)
    TANDEM_SEALED_KERNEL(scatter_add_rows)
    TANDEM_SEALED_KERNEL(attention)
    TANDEM_SEALED_KERNEL(attention_bwd)
    TANDEM_SEALED_KERNEL(adamw_step)
    TANDEM_SEALED_KERNEL(logsumexp)
    TANDEM_SEALED_KERNEL(logsumexp_bwd)
    TANDEM_SEALED_KERNEL(fill_diagonal_blocks)
    TANDEM_SEALED_KERNEL(mask_above_margin)
    TANDEM_SEALED_KERNEL(hard_pairs)
    TANDEM_SEALED_KERNEL(label_equal_mask)
    TANDEM_SEALED_KERNEL(range_mask)
    TANDEM_SEALED_KERNEL(semi_hard_negatives)
    TANDEM_SEALED_KERNEL(repeat_each)
    TANDEM_SEALED_KERNEL(clamp)
    TANDEM_SEALED_KERNEL(clamp_bwd)
    TANDEM_SEALED_KERNEL(sgd_step)
    TANDEM_SEALED_KERNEL(sum_squares)
    TANDEM_SEALED_KERNEL(index_range)
    TANDEM_SEALED_KERNEL(iota)
    TANDEM_SEALED_KERNEL(find_in_rows)
    TANDEM_SEALED_KERNEL(argmax_rows)
    TANDEM_SEALED_KERNEL(flat_index)
    TANDEM_SEALED_KERNEL(mask_fill)
    TANDEM_SEALED_KERNEL(mean_weights)
    TANDEM_SEALED_KERNEL(exclude_prompt)
    TANDEM_SEALED_KERNEL(position_ids_from_input_ids)
    TANDEM_SEALED_KERNEL(relative_position_buckets)
    TANDEM_SEALED_KERNEL(pooling_weights)
    TANDEM_SEALED_KERNEL(fill_diagonal)
    TANDEM_SEALED_KERNEL(dropout_mask)
    TANDEM_SEALED_KERNEL(convert)

    // Sizes only: no memory is read.
    static index_t attention_saved_numel(const AttentionShape& s) {
        return backend::Cpu::attention_saved_numel(s);
    }
};

#undef TANDEM_SEALED_KERNEL

static_assert(Backend<Sealed>, "Sealed must satisfy the Backend concept");

}  // namespace tandem::testing
