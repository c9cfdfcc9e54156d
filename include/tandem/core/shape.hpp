// Shape: the dimensions of a contiguous row-major tensor, rank 0 to 6, kept inline
// (no allocation) because shapes are created for every op on the tape.
#pragma once

#include <tandem/core/error.hpp>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace tandem {

using index_t = std::int64_t;

class Shape {
public:
    static constexpr int max_rank = 6;

    Shape() = default;
    Shape(std::initializer_list<index_t> dims) {
        if (dims.size() > max_rank)
            detail::throw_error("Shape: rank ", dims.size(), " exceeds the maximum ", max_rank);
        for (index_t d : dims) push_back(d);
    }
    template <class It>
    Shape(It first, It last) {
        for (; first != last; ++first) push_back(static_cast<index_t>(*first));
    }

    int rank() const { return rank_; }
    index_t operator[](int i) const { return dims_[normalize(i)]; }
    index_t& operator[](int i) { return dims_[normalize(i)]; }
    index_t back() const { return (*this)[-1]; }
    const index_t* begin() const { return dims_.data(); }
    const index_t* end() const { return dims_.data() + rank_; }

    index_t numel() const {
        index_t n = 1;
        for (int i = 0; i < rank_; ++i) n *= dims_[i];
        return n;
    }
    // Product of the dimensions before `axis` (outer) and after it (inner).
    index_t outer(int axis) const {
        index_t n = 1;
        for (int i = 0; i < normalize(axis); ++i) n *= dims_[i];
        return n;
    }
    index_t inner(int axis) const {
        index_t n = 1;
        for (int i = normalize(axis) + 1; i < rank_; ++i) n *= dims_[i];
        return n;
    }

    void push_back(index_t d) {
        if (rank_ == max_rank) detail::throw_error("Shape: rank exceeds the maximum ", max_rank);
        if (d < 0) detail::throw_error("Shape: negative dimension ", d);
        dims_[rank_++] = d;
    }

    // Python-style axis: -1 is the last. Throws for an axis outside [-rank, rank).
    int normalize(int axis) const {
        int a = axis < 0 ? axis + rank_ : axis;
        if (a < 0 || a >= rank_) detail::throw_error("axis ", axis, " is out of range for shape ", str());
        return a;
    }

    std::string str() const {
        std::string s = "[";
        for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
        return s + "]";
    }

    friend bool operator==(const Shape& a, const Shape& b) {
        if (a.rank_ != b.rank_) return false;
        for (int i = 0; i < a.rank_; ++i)
            if (a.dims_[i] != b.dims_[i]) return false;
        return true;
    }

private:
    std::array<index_t, max_rank> dims_{};
    int rank_ = 0;
};

}  // namespace tandem
