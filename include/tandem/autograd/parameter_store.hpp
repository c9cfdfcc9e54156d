// ParameterStore: every parameter of a model in one contiguous arena, with a parallel
// gradient arena, so zeroing, optimizer steps, clipping, all-reduce and saving are
// each a single pass. Parameters are named as Hugging Face names them.
// Register shapes first (modules do it in their constructors); the arena is laid out
// on first access, after which the set of parameters is fixed.
#pragma once

#include <tandem/backend/concepts.hpp>
#include <tandem/core/tensor.hpp>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem {

// A handle to one parameter of a ParameterStore.
struct Parameter {
    int index = -1;
};

template <Backend B, Scalar T>
class ParameterStore {
public:
    using Tensor = tandem::Tensor<B, T>;

    Parameter add(const std::string& name, const Shape& shape) {
        if (allocated())
            detail::throw_error("ParameterStore::add('", name,
                                "'): the arena is already laid out; add every ",
                                "parameter before the first value() or grad()");
        if (by_name_.count(name))
            detail::throw_error("ParameterStore::add: duplicate parameter name '", name, "'");
        // Offsets are rounded up to 16 elements so every parameter starts 64-byte aligned.
        entries_.push_back({name, shape, total_});
        total_ += (shape.numel() + 15) / 16 * 16;
        by_name_[name] = static_cast<int>(entries_.size() - 1);
        return {static_cast<int>(entries_.size() - 1)};
    }

    std::size_t size() const { return entries_.size(); }
    const std::string& name(Parameter p) const { return entry(p).name; }
    const Shape& shape(Parameter p) const { return entry(p).shape; }
    // Number of scalars in all parameters (padding excluded).
    index_t numel() const {
        index_t n = 0;
        for (const auto& e : entries_) n += e.shape.numel();
        return n;
    }

    Parameter find(std::string_view name) const {
        auto it = by_name_.find(std::string(name));
        if (it == by_name_.end()) detail::throw_error("ParameterStore: no parameter named '", name, "'");
        return {it->second};
    }
    bool contains(std::string_view name) const { return by_name_.count(std::string(name)) > 0; }

    Tensor value(Parameter p) { return view(values(), p); }
    Tensor grad(Parameter p) { return view(grads(), p); }

    // The whole arenas, padding included: optimizers and reductions run over these.
    Tensor values() {
        allocate();
        return values_;
    }
    Tensor grads() {
        allocate();
        return grads_;
    }

    void zero_grad() { grads().zero(); }

    // f(name, value, grad) for every parameter in registration order.
    template <class F>
    void for_each(F&& f) {
        for (int i = 0; i < static_cast<int>(entries_.size()); ++i)
            f(entries_[i].name, value(Parameter{i}), grad(Parameter{i}));
    }

private:
    struct Entry {
        std::string name;
        Shape shape;
        index_t offset;
    };

    bool allocated() const { return values_.defined(); }
    void allocate() {
        if (allocated()) return;
        values_ = Tensor::zeros({total_});
        grads_ = Tensor::zeros({total_});
    }
    const Entry& entry(Parameter p) const {
        if (p.index < 0 || p.index >= static_cast<int>(entries_.size()))
            detail::throw_error("ParameterStore: invalid parameter handle ", p.index);
        return entries_[p.index];
    }
    Tensor view(const Tensor& arena, Parameter p) const {
        const Entry& e = entry(p);
        return arena.rows(e.offset, e.offset + e.shape.numel()).reshape(e.shape);
    }

    std::vector<Entry> entries_;
    std::unordered_map<std::string, int> by_name_;
    index_t total_ = 0;
    Tensor values_, grads_;
};

}  // namespace tandem
