// ParameterStore: every parameter of a model in one contiguous arena, with a parallel
// gradient arena, so zeroing, optimizer steps, clipping, all-reduce and saving are
// each a single pass. Parameters are named as Hugging Face names them.
// Register shapes first (modules do it in their constructors); the arena is laid out
// on first access, after which the set of parameters is fixed.
// Storage type apart from compute type: with set_storage_type(DType::BF16), forward
// passes read a bf16 copy of the weights (mixed-precision training: bf16 weights, T
// master weights, gradients and optimizer state). The copy is refreshed from the master
// weights whenever they may have changed (after any values() or value() access).
// Freezing (PyTorch's requires_grad_(False)): a parameter that requires no gradient is
// read by forward passes as a constant, so backward does no work for it, nor for
// anything computed only from such parameters and constant inputs (a locked tower).
#pragma once

#include <tandem/backend/concepts.hpp>
#include <tandem/core/tensor.hpp>

#include <fnmatch.h>

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
    // Where p starts in the arenas (in elements).
    index_t offset(Parameter p) const { return entry(p).offset; }
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

    // The master weights: writable, so the bf16 copy is refreshed before the next read.
    Tensor value(Parameter p) { return view(values(), p); }
    Tensor grad(Parameter p) { return view(grads(), p); }

    // The whole arenas, padding included: optimizers and reductions run over these.
    Tensor values() {
        allocate();
        storage_stale_ = true;
        return values_;
    }
    Tensor grads() {
        allocate();
        return grads_;
    }

    void zero_grad() { grads().zero(); }

    // Whether backward computes p's gradient (true unless frozen). A frozen parameter's
    // gradient is never written: it keeps whatever it held, zeros after zero_grad().
    bool requires_grad(Parameter p) const { return entry(p).requires_grad; }
    void set_requires_grad(Parameter p, bool requires_grad) {
        entries_[index_of(p)].requires_grad = requires_grad;
    }

    // Every parameter whose name matches the shell glob `pattern` (matching the whole
    // name; `*` matches any run of characters, dots included, as ParamGroup's globs);
    // returns how many matched. A pattern that matches none is an error, as a misspelled
    // one would otherwise leave a tower silently trained.
    std::size_t set_requires_grad(std::string_view pattern, bool requires_grad) {
        const std::string glob(pattern);
        std::size_t matched = 0;
        for (auto& e : entries_)
            if (fnmatch(glob.c_str(), e.name.c_str(), 0) == 0) {
                e.requires_grad = requires_grad;
                ++matched;
            }
        if (matched == 0)
            detail::throw_error("ParameterStore::set_requires_grad: pattern '", pattern,
                                "' matches no parameter name (expected a glob such as 'vision_model.*')");
        return matched;
    }
    // LiT's locked image tower: store.freeze("vision_model.*").
    std::size_t freeze(std::string_view pattern) { return set_requires_grad(pattern, false); }

    // The type forward passes read weights in: T (the default) or DType::BF16.
    // May be set at any time (after loading a checkpoint, say): the copy is made on the
    // next read.
    void set_storage_type(DType type) {
        if (type != dtype_of<T> && type != DType::BF16)
            detail::throw_error("ParameterStore::set_storage_type: expected ", dtype_name(dtype_of<T>),
                                " or BF16, found ", dtype_name(type));
        storage_type_ = type;
        storage_stale_ = true;
        if (type != DType::BF16) storage_ = {};
    }
    DType storage_type() const { return storage_type_; }

    // Parameter p as forward passes read it, in T: the master weights themselves, or the
    // bf16 copy widened to T.
    Tensor compute_value(Parameter p) {
        if (storage_type_ == dtype_of<T>) return value(p);
        const auto stored = view(storage(), p);
        auto out = Tensor::empty(stored.shape());
        if (out.numel()) B::convert(out.data(), stored.data(), out.numel());
        return out;
    }

    // The bf16 arena, rounded from the master weights if they may have changed.
    tandem::Tensor<B, bfloat16> storage() {
        if (storage_type_ != DType::BF16)
            detail::throw_error("ParameterStore::storage: the storage type is ", dtype_name(storage_type_),
                                ", not BF16");
        allocate();
        if (!storage_.defined()) storage_ = tandem::Tensor<B, bfloat16>::empty({total_});
        if (storage_stale_) {
            B::convert(storage_.data(), values_.data(), total_);
            storage_stale_ = false;
        }
        return storage_;
    }

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
        bool requires_grad = true;
    };

    bool allocated() const { return values_.defined(); }
    void allocate() {
        if (allocated()) return;
        values_ = Tensor::zeros({total_});
        grads_ = Tensor::zeros({total_});
    }
    std::size_t index_of(Parameter p) const {
        if (p.index < 0 || p.index >= static_cast<int>(entries_.size()))
            detail::throw_error("ParameterStore: invalid parameter handle ", p.index);
        return static_cast<std::size_t>(p.index);
    }
    const Entry& entry(Parameter p) const { return entries_[index_of(p)]; }
    template <class Arena>
    Arena view(const Arena& arena, Parameter p) const {
        const Entry& e = entry(p);
        return arena.rows(e.offset, e.offset + e.shape.numel()).reshape(e.shape);
    }

    std::vector<Entry> entries_;
    std::unordered_map<std::string, int> by_name_;
    index_t total_ = 0;
    Tensor values_, grads_;
    DType storage_type_ = dtype_of<T>;
    tandem::Tensor<B, bfloat16> storage_;
    bool storage_stale_ = true;
};

}  // namespace tandem
