// Graph: the tape of a reverse-mode autograd pass and the context of one forward
// (train or eval mode, the dropout random stream). Ops (autograd/ops/) compute their
// value with backend kernels and record a hand-written backward; backward() runs the
// tape in reverse and then frees it.
// Var is a cheap handle to one value, like a torch.Tensor with grad_fn. A Var owns its
// value: the tape holds only gradients and the backward closures, which capture exactly
// the tensors their backward reads, so an intermediate dies as soon as neither a Var
// nor a closure needs it. Under NoGradGuard nothing is recorded at all.
#pragma once

#include <tandem/autograd/parameter_store.hpp>
#include <tandem/core/rng.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace tandem {

template <Backend B, Scalar T>
class Graph;

template <Backend B, Scalar T>
struct Var {
    Graph<B, T>* graph = nullptr;
    // The value's slot on the tape, or -1 when no gradient flows through it.
    int index = -1;
    Tensor<B, T> data{};

    const Tensor<B, T>& value() const { return data; }
    const Shape& shape() const { return data.shape(); }
    bool requires_grad() const { return index >= 0; }
    // The gradient accumulated by backward(); for inputs created with requires_grad.
    Tensor<B, T> grad() const { return graph->grad(*this); }
};

namespace detail {
inline thread_local int no_grad_depth = 0;
}  // namespace detail

// While one is alive, ops on this thread record no backward: inference mode.
// reference: torch::NoGradGuard.
class NoGradGuard {
public:
    NoGradGuard() { ++detail::no_grad_depth; }
    ~NoGradGuard() { --detail::no_grad_depth; }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;
};

inline bool grad_enabled() { return detail::no_grad_depth == 0; }

// How a forward pass runs. reference: torch.nn.Module.train() / eval(), and the seed
// of the generator dropout draws from.
struct GraphOptions {
    // Train mode applies dropout; eval mode (the default) is deterministic inference.
    bool training = false;
    // Dropout masks are a pure function of (seed, the order of dropout calls, element).
    std::uint64_t seed = 0;
};

template <Backend B, Scalar T>
class Graph {
public:
    using Tensor = tandem::Tensor<B, T>;
    using Var = tandem::Var<B, T>;
    // Called with the graph and the slot of the op whose output gradient is ready.
    using Backward = std::function<void(Graph&, int)>;

    explicit Graph(GraphOptions options = {}) : options_(options) {}
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;

    bool training() const { return options_.training; }
    std::uint64_t seed() const { return options_.seed; }
    // A fresh random stream for each call (each dropout site of a forward pass), the
    // same sequence of streams for the same seed.
    Philox next_rng() { return Philox(options_.seed, rng_streams_++); }

    // A leaf. With requires_grad, backward() leaves its gradient in grad(var).
    Var input(Tensor value, bool requires_grad = false) {
        if (!(requires_grad && grad_enabled())) return Var{this, -1, std::move(value)};
        return push(Slot{value.shape(), {}, {}, -1, Kind::Input}, std::move(value), "input");
    }

    // A leaf that reads a parameter (in place, or widened from its bf16 storage) and
    // accumulates into its gradient arena; a constant when the parameter is frozen
    // (store.requires_grad(p) false), so no op that reads only constants records a backward.
    Var parameter(ParameterStore<B, T>& store, Parameter p) {
        Tensor value = store.compute_value(p);
        if (!grad_enabled() || !store.requires_grad(p)) return Var{this, -1, std::move(value)};
        return push(Slot{store.shape(p), store.grad(p), {}, -1, Kind::Parameter}, std::move(value),
                    "parameter");
    }

    // The gradient of a leaf after backward().
    Tensor grad(const Var& v) const {
        check_owner(v, "grad");
        if (v.index < 0)
            detail::throw_error("Graph::grad: this value does not require a gradient (create it with ",
                                "input(value, true), or outside NoGradGuard)");
        Tensor t = resolved_grad(v.index);
        if (!t.defined())
            detail::throw_error("Graph::grad: no gradient reached this value (did backward() run?)");
        return t;
    }

    // Records an op's output. `backward` is kept only if some input requires a gradient.
    Var record(std::string_view op, Tensor value, std::initializer_list<Var> inputs, Backward backward) {
        return record(op, std::move(value), inputs.begin(), inputs.size(), std::move(backward));
    }
    Var record(std::string_view op, Tensor value, const std::vector<Var>& inputs, Backward backward) {
        return record(op, std::move(value), inputs.data(), inputs.size(), std::move(backward));
    }

    // Records a view of `input` (same elements, another shape): it shares the input's
    // storage and its gradient buffer, so its backward costs nothing.
    Var view(std::string_view op, Tensor value, const Var& input) {
        check_owner(input, op);
        if (value.numel() != input.value().numel())
            detail::throw_error(op, ": a view must keep the ", input.value().numel(),
                                " elements of its input");
        if (!input.requires_grad() || !grad_enabled()) return Var{this, -1, std::move(value)};
        return push(Slot{value.shape(), {}, {}, input.index, Kind::View}, std::move(value), op);
    }

    // The gradient buffer of a slot, allocated as zeros on first use. A view's buffer
    // is its input's, reshaped.
    Tensor grad_buffer(int index) {
        Slot& s = slots_[index];
        if (s.alias >= 0) return grad_buffer(s.alias).reshape(s.shape);
        if (!s.grad.defined()) s.grad = Tensor::zeros(s.shape);
        return s.grad;
    }
    bool needs_grad(int index) const { return index >= 0; }
    bool needs_grad(const Var& v) const { return v.index >= 0; }

    // Runs the tape backwards from a one-element loss, then frees it.
    void backward(const Var& loss) {
        check_owner(loss, "backward");
        if (loss.value().numel() != 1)
            detail::throw_error("Graph::backward: expected a one-element loss, found shape ",
                                loss.shape().str(), " (pass output gradients for a non-scalar output)");
        if (!loss.requires_grad())
            detail::throw_error("Graph::backward: the loss does not depend on any parameter or input that ",
                                "requires a gradient");
        backward(std::vector<Var>{loss}, std::vector<Tensor>{Tensor::full(loss.shape(), T(1))});
    }

    // Runs the tape backwards from several outputs of any shape, each seeded with the
    // gradient of the final objective with respect to it (GradCache, gathered
    // negatives); then frees the tape: backward closures are released, leaf gradients
    // stay readable.
    void backward(const std::vector<Var>& outputs, const std::vector<Tensor>& output_gradients) {
        if (freed_)
            detail::throw_error(
                "Graph::backward: this tape was already run and freed by an earlier backward(); ",
                "build a new Graph for each step");
        if (outputs.size() != output_gradients.size() || outputs.empty())
            detail::throw_error("Graph::backward: expected one gradient per output, found ", outputs.size(),
                                " outputs and ", output_gradients.size(), " gradients");
        int last = -1;
        for (std::size_t i = 0; i < outputs.size(); ++i) {
            const Var& out = outputs[i];
            check_owner(out, "backward");
            if (!out.requires_grad())
                detail::throw_error("Graph::backward: output ", i,
                                    " does not depend on any parameter or input ",
                                    "that requires a gradient");
            if (!(output_gradients[i].shape() == out.shape()))
                detail::throw_error("Graph::backward: output ", i, " has shape ", out.shape().str(),
                                    " but its gradient has shape ", output_gradients[i].shape().str());
            Tensor g = grad_buffer(out.index);
            B::binary(BinaryOp::Add, g.data(), g.data(), g.numel(), output_gradients[i].data(), g.numel());
            last = std::max(last, out.index);
        }
        for (int i = last; i >= 0; --i) {
            Slot& s = slots_[i];
            if (s.kind != Kind::Op) continue;
            if (s.backward && s.grad.defined()) s.backward(*this, i);
            // Backward closures hold the tensors they need; once run, this op is done.
            s.backward = {};
            s.grad = {};
        }
        for (auto& s : slots_) {
            s.backward = {};
            if (s.kind == Kind::Op) s.grad = {};
        }
        freed_ = true;
    }

    bool freed() const { return freed_; }
    // Slots on the tape: values that need a gradient (a test measures what is recorded).
    std::size_t tape_size() const { return slots_.size(); }

private:
    enum class Kind { Input, Parameter, View, Op };
    struct Slot {
        Shape shape;
        Tensor grad;
        Backward backward;
        int alias;  // for a view, the slot whose gradient buffer it shares
        Kind kind;
    };

    Var record(std::string_view op, Tensor value, const Var* inputs, std::size_t count, Backward backward) {
        bool needs = false;
        for (std::size_t i = 0; i < count; ++i) {
            check_owner(inputs[i], op);
            needs = needs || inputs[i].requires_grad();
        }
        if (!(needs && grad_enabled())) return Var{this, -1, std::move(value)};
        return push(Slot{value.shape(), {}, std::move(backward), -1, Kind::Op}, std::move(value), op);
    }

    Var push(Slot s, Tensor value, std::string_view op) {
        if (freed_)
            detail::throw_error(op, ": this graph was freed by backward(); build a new Graph for each step");
        slots_.push_back(std::move(s));
        return Var{this, static_cast<int>(slots_.size() - 1), std::move(value)};
    }

    Tensor resolved_grad(int index) const {
        const Slot& s = slots_[index];
        if (s.alias >= 0) {
            Tensor g = resolved_grad(s.alias);
            return g.defined() ? g.reshape(s.shape) : g;
        }
        return s.grad;
    }

    void check_owner(const Var& v, std::string_view what) const {
        if (v.graph != this || v.index >= static_cast<int>(slots_.size()))
            detail::throw_error(what, ": the Var belongs to another graph (or to none)");
    }

    GraphOptions options_;
    std::uint64_t rng_streams_ = 0;
    std::vector<Slot> slots_;
    bool freed_ = false;
};

}  // namespace tandem
