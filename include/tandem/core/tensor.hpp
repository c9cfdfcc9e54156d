// Tensor<B, T>: a contiguous row-major array whose memory belongs to backend B.
// Copying a Tensor shares the buffer (like torch.Tensor); clone() copies the data.
// Views (reshape, rows) share the buffer and keep it alive. Host code reaches the
// elements only through explicit copies (from_vector, to_vector, item, to<Other>()):
// data() is a pointer for backend kernels, never to be dereferenced outside backend/.
#pragma once

#include <tandem/core/dtype.hpp>
#include <tandem/core/error.hpp>
#include <tandem/core/memory.hpp>
#include <tandem/core/shape.hpp>

#include <memory>
#include <type_traits>
#include <vector>

namespace tandem {

namespace detail {
template <class B>
struct Storage {
    void* data;
    std::size_t bytes;
    explicit Storage(std::size_t n) : data(n ? B::allocate(n) : nullptr), bytes(n) {}
    ~Storage() {
        if (data) B::deallocate(data, bytes);
    }
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
};
}  // namespace detail

template <BackendMemory B, Element T>
class Tensor {
public:
    using backend_type = B;
    using value_type = T;

    Tensor() = default;

    // Uninitialised memory of the given shape: use zeros() unless every element is written.
    static Tensor empty(const Shape& shape) {
        Tensor t;
        t.storage_ =
            std::make_shared<detail::Storage<B>>(static_cast<std::size_t>(shape.numel()) * sizeof(T));
        t.shape_ = shape;
        return t;
    }
    static Tensor zeros(const Shape& shape) {
        Tensor t = empty(shape);
        if (t.numel()) B::zero(t.data(), t.bytes());
        return t;
    }
    static Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
        if (static_cast<index_t>(values.size()) != shape.numel())
            detail::throw_error("Tensor::from_vector: shape ", shape.str(), " holds ", shape.numel(),
                                " elements, found ", values.size(), " values");
        return from_host(values.data(), shape);
    }
    // Copies shape.numel() elements from host memory.
    static Tensor from_host(const T* values, const Shape& shape) {
        Tensor t = empty(shape);
        if (t.numel()) B::copy_from_host(t.data(), values, t.bytes());
        return t;
    }
    static Tensor full(const Shape& shape, T value) {
        return from_vector(std::vector<T>(static_cast<std::size_t>(shape.numel()), value), shape);
    }
    // From an untyped host buffer, e.g. one read from a file: the dtype must be T's.
    static Tensor from_bytes(const void* data, DType dtype, const Shape& shape) {
        if (dtype != dtype_of<T>)
            detail::throw_error("Tensor<", dtype_name(dtype_of<T>), ">::from_bytes: expected dtype ",
                                dtype_name(dtype_of<T>), ", found ", dtype_name(dtype));
        return from_host(static_cast<const T*>(data), shape);
    }

    bool defined() const { return storage_ != nullptr; }
    const Shape& shape() const { return shape_; }
    int rank() const { return shape_.rank(); }
    index_t size(int axis) const { return shape_[axis]; }
    index_t numel() const { return shape_.numel(); }
    std::size_t bytes() const { return static_cast<std::size_t>(numel()) * sizeof(T); }
    static constexpr DType dtype() { return dtype_of<T>; }
    // The backend's pointer to the first element: for kernels only.
    T* data() const { return storage_ ? static_cast<T*>(storage_->data) + offset_ : nullptr; }

    // A view with the same elements in another shape.
    Tensor reshape(const Shape& shape) const {
        if (shape.numel() != numel())
            detail::throw_error("reshape: cannot view shape ", shape_.str(), " (", numel(), " elements) as ",
                                shape.str(), " (", shape.numel(), " elements)");
        Tensor t = *this;
        t.shape_ = shape;
        return t;
    }
    // A view of rows [begin, end) along the first axis.
    Tensor rows(index_t begin, index_t end) const {
        if (rank() == 0 || begin < 0 || end < begin || end > shape_[0])
            detail::throw_error("rows: range [", begin, ", ", end, ") is outside shape ", shape_.str());
        Tensor t = *this;
        t.offset_ += begin * shape_.inner(0);
        t.shape_[0] = end - begin;
        return t;
    }

    Tensor clone() const {
        Tensor t = empty(shape_);
        if (numel()) B::copy(t.data(), data(), bytes());
        return t;
    }
    void copy_from(const Tensor& other) {
        if (!(other.shape() == shape_))
            detail::throw_error("copy_from: shape mismatch, destination ", shape_.str(), ", source ",
                                other.shape().str());
        if (numel()) B::copy(data(), other.data(), bytes());
    }
    void zero() {
        if (numel()) B::zero(data(), bytes());
    }

    // The same elements on another backend, through host memory (torch's .to(device)).
    template <BackendMemory Other>
    Tensor<Other, T> to() const {
        if constexpr (std::is_same_v<Other, B>) {
            return clone();
        } else {
            const std::vector<T> host = to_vector();
            return Tensor<Other, T>::from_vector(host, shape_);
        }
    }

    // Copies every element to host memory.
    void to_host(T* out) const {
        if (numel()) B::copy_to_host(out, data(), bytes());
    }
    std::vector<T> to_vector() const {
        std::vector<T> out(static_cast<std::size_t>(numel()));
        to_host(out.data());
        return out;
    }
    // The single value of a one-element tensor.
    T item() const {
        if (numel() != 1) detail::throw_error("item: expected one element, found shape ", shape_.str());
        T v;
        B::copy_to_host(&v, data(), sizeof(T));
        return v;
    }

private:
    std::shared_ptr<detail::Storage<B>> storage_;
    index_t offset_ = 0;
    Shape shape_;
};

}  // namespace tandem
