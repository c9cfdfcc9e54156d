// Helpers shared by the op headers: finding an op's graph and shape checks whose
// errors name the op and both shapes.
#pragma once

#include <tandem/autograd/graph.hpp>

#include <string_view>

namespace tandem::detail {

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
