// Graph: the tape of a reverse-mode autograd pass. Ops (autograd/ops/) compute their
// value with backend kernels and record a hand-written backward; backward(loss) runs
// the tape in reverse and then frees it, so activations live exactly one step.
// Var is a cheap handle to one value on a Graph, like a torch.Tensor with grad_fn.
#pragma once

#include <tandem/autograd/parameter_store.hpp>

#include <functional>
#include <string_view>
#include <vector>

namespace tandem {

template <Backend B, Scalar T>
class Graph;

template <Backend B, Scalar T>
struct Var {
    Graph<B, T>* graph = nullptr;
    int index = -1;

    const Tensor<B, T>& value() const { return graph->value(*this); }
    const Shape& shape() const { return value().shape(); }
    // The gradient accumulated by backward(); for inputs created with requires_grad.
    const Tensor<B, T>& grad() const { return graph->grad(*this); }
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

template <Backend B, Scalar T>
class Graph {
public:
    using Tensor = tandem::Tensor<B, T>;
    using Var = tandem::Var<B, T>;
    // Called with the graph and the index of the node whose gradient is ready.
    using Backward = std::function<void(Graph&, int)>;

    Graph() = default;
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;

    // A leaf. With requires_grad, backward() leaves its gradient in grad(var).
    Var input(Tensor value, bool requires_grad = false) {
        return push(Node{std::move(value), {}, {}, requires_grad && grad_enabled(), Kind::Input});
    }

    // A leaf that reads a parameter in place and accumulates into its gradient arena.
    Var parameter(ParameterStore<B, T>& store, Parameter p) {
        return push(Node{store.value(p), store.grad(p), {}, grad_enabled(), Kind::Parameter});
    }

    const Tensor& value(const Var& v) const { return node(v, "value").value; }

    const Tensor& grad(const Var& v) const {
        const Node& n = node(v, "grad");
        if (!n.grad.defined())
            detail::throw_error("Graph::grad: no gradient reached this value (is requires_grad set, and did ",
                                "backward() run?)");
        return n.grad;
    }

    bool requires_grad(const Var& v) const { return node(v, "requires_grad").requires_grad; }

    // Records an op's output. `backward` runs only if some input requires a gradient.
    Var record(std::string_view op, Tensor value, std::initializer_list<Var> inputs, Backward backward) {
        return record(op, std::move(value), inputs.begin(), inputs.size(), std::move(backward));
    }
    Var record(std::string_view op, Tensor value, const std::vector<Var>& inputs, Backward backward) {
        return record(op, std::move(value), inputs.data(), inputs.size(), std::move(backward));
    }

    // The gradient buffer of a node, allocated as zeros on first use.
    Tensor& grad_buffer(int index) {
        Node& n = nodes_[index];
        if (!n.grad.defined()) n.grad = Tensor::zeros(n.value.shape());
        return n.grad;
    }
    bool needs_grad(const Var& v) const { return nodes_[v.index].requires_grad; }

    // Runs the tape backwards from a one-element loss, then frees it: activations and
    // backward closures are released; leaf gradients stay readable.
    void backward(const Var& loss) {
        if (freed_)
            detail::throw_error(
                "Graph::backward: this tape was already run and freed by an earlier backward(); ",
                "build a new Graph for each step");
        const Node& l = node(loss, "backward");
        if (l.value.numel() != 1)
            detail::throw_error("Graph::backward: expected a one-element loss, found shape ",
                                l.value.shape().str());
        if (!l.requires_grad)
            detail::throw_error("Graph::backward: the loss does not depend on any parameter or input that ",
                                "requires a gradient");
        grad_buffer(loss.index) = Tensor::full(l.value.shape(), T(1));
        for (int i = loss.index; i >= 0; --i) {
            Node& n = nodes_[i];
            if (n.kind != Kind::Op) continue;
            if (n.backward && n.grad.defined()) n.backward(*this, i);
            // Backward closures hold the tensors they need; once run, this node is done.
            n.backward = {};
            n.grad = {};
        }
        for (auto& n : nodes_) {
            if (n.kind == Kind::Op) {
                n.backward = {};
                n.value = {};
            }
        }
        freed_ = true;
    }

    bool freed() const { return freed_; }

private:
    enum class Kind { Input, Parameter, Op };
    struct Node {
        Tensor value;
        Tensor grad;
        Backward backward;
        bool requires_grad;
        Kind kind;
    };

    Var record(std::string_view op, Tensor value, const Var* inputs, std::size_t count, Backward backward) {
        bool needs = false;
        for (std::size_t i = 0; i < count; ++i) {
            if (inputs[i].graph != this)
                detail::throw_error(op, ": inputs belong to different graphs (or to none)");
            needs = needs || nodes_[inputs[i].index].requires_grad;
        }
        needs = needs && grad_enabled();
        return push(Node{std::move(value), {}, needs ? std::move(backward) : Backward{}, needs, Kind::Op},
                    op);
    }

    Var push(Node n, std::string_view op = "input") {
        if (freed_)
            detail::throw_error(op, ": this graph was freed by backward(); build a new Graph for each step");
        nodes_.push_back(std::move(n));
        return Var{this, static_cast<int>(nodes_.size() - 1)};
    }
    const Node& node(const Var& v, std::string_view what) const {
        if (v.graph != this || v.index < 0 || v.index >= static_cast<int>(nodes_.size()))
            detail::throw_error("Graph::", what, ": the Var does not belong to this graph");
        const Node& n = nodes_[v.index];
        if (freed_ && n.kind == Kind::Op)
            detail::throw_error("Graph::", what, ": this intermediate value was freed by backward()");
        return n;
    }

    std::vector<Node> nodes_;
    bool freed_ = false;
};

}  // namespace tandem
