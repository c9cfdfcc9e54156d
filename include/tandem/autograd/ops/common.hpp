// Helpers shared by the op headers: finding an op's graph and shape checks whose
// errors name the op and both shapes.
#pragma once

#include <tandem/autograd/graph.hpp>

#include <cstdint>
#include <limits>
#include <string_view>

namespace tandem {

// Integer tensors: token ids, targets, masks, positions.
template <Backend B>
using Ids = Tensor<B, std::int64_t>;

// start, start + step, ... (n values), made on the backend.   reference: torch.arange
template <Backend B>
Ids<B> arange(index_t n, std::int64_t start = 0, std::int64_t step = 1) {
    auto out = Ids<B>::empty({n});
    if (n) B::iota(out.data(), n, start, step);
    return out;
}

// The positions of `input_ids` [batch, length] counted from padding_idx + 1 over the
// tokens other than padding_idx, padding itself at padding_idx, made on the backend.
// reference: RobertaEmbeddings.create_position_ids_from_input_ids
template <Backend B>
Ids<B> position_ids_from_input_ids(const Ids<B>& input_ids, std::int64_t padding_idx) {
    if (input_ids.rank() != 2)
        detail::throw_error("position_ids_from_input_ids: expected input_ids [batch, length], found shape ",
                            input_ids.shape().str());
    auto out = Ids<B>::empty(input_ids.shape());
    if (out.numel())
        B::position_ids_from_input_ids(out.data(), input_ids.data(), input_ids.size(0), input_ids.size(1),
                                       padding_idx);
    return out;
}

}  // namespace tandem

namespace tandem::detail {

struct IndexRange {
    std::int64_t count, min, max;
};

// How many ids differ from `skip`, and their smallest and largest value: three numbers
// read back from the backend, so range checks never touch tensor memory on the host.
template <Backend B>
IndexRange index_range(const Ids<B>& ids, std::int64_t skip = std::numeric_limits<std::int64_t>::min()) {
    auto r = Ids<B>::empty({3});
    B::index_range(r.data(), ids.data(), ids.numel(), skip);
    const auto v = r.to_vector();
    return {v[0], v[1], v[2]};
}

// Every id (other than `skip`) lies in [0, bound).
template <Backend B>
void check_ids(std::string_view op, std::string_view what, const Ids<B>& ids, index_t bound,
               std::int64_t skip = std::numeric_limits<std::int64_t>::min()) {
    const IndexRange r = index_range<B>(ids, skip);
    if (r.count > 0 && (r.min < 0 || r.max >= bound))
        throw_error(op, ": ", what, " range over [", r.min, ", ", r.max, "], outside [0, ", bound, ")");
}

template <Backend B, Scalar T>
Graph<B, T>& graph_of(std::string_view op, const Var<B, T>& v) {
    if (!v.graph) throw_error(op, ": the input is an empty Var (not created by a Graph)");
    return *v.graph;
}

inline void check_same_shape(std::string_view op, const Shape& a, const Shape& b) {
    if (!(a == b)) throw_error(op, ": shape mismatch, ", a.str(), " and ", b.str());
}

inline void check_rank_at_least(std::string_view op, const Shape& s, int rank) {
    if (s.rank() < rank) throw_error(op, ": expected at least ", rank, " dimensions, found shape ", s.str());
}

// True when `b` equals the trailing dimensions of `a` (or has one element): b broadcasts over a.
inline bool broadcasts_over(const Shape& a, const Shape& b) {
    if (b.numel() == 1) return true;
    if (b.rank() > a.rank()) return false;
    for (int i = 1; i <= b.rank(); ++i)
        if (a[-i] != b[-i]) return false;
    return true;
}

}  // namespace tandem::detail
