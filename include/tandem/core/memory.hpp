// BackendMemory: what a tensor needs from a backend to own its buffer. It lives in
// core (not backend/) because Tensor, a core type, is constrained by it; the kernels
// a backend must supply are the BackendKernels concept in backend/concepts.hpp.
#pragma once

#include <concepts>
#include <cstddef>

namespace tandem {

// Represents: a place where tensor memory lives (host RAM, a GPU).
// Requires: allocate/deallocate raw bytes, copy between buffers of that place and
// to and from the host, set bytes to zero, and synchronize: wait until every kernel
// and copy issued so far has finished (a no-op where kernels run synchronously).
// Ensures: allocate(n) returns memory aligned for any scalar type (64 bytes on the CPU);
// copy_to_host and copy_from_host are complete when they return, so host buffers may
// be reused at once; host code never dereferences the backend's pointers.
template <class B>
concept BackendMemory = requires(void* p, const void* cp, std::size_t n) {
    { B::allocate(n) } -> std::same_as<void*>;
    { B::deallocate(p, n) } -> std::same_as<void>;
    { B::copy(p, cp, n) } -> std::same_as<void>;
    { B::copy_to_host(p, cp, n) } -> std::same_as<void>;
    { B::copy_from_host(p, cp, n) } -> std::same_as<void>;
    { B::zero(p, n) } -> std::same_as<void>;
    { B::synchronize() } -> std::same_as<void>;
};

}  // namespace tandem
