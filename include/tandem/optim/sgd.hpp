// SGD with momentum over a ParameterStore, with the parameter groups of AdamW (learning
// rate, weight decay or frozen by name pattern), one kernel call per run of the arena.
// reference: torch.optim.SGD (lr 1e-3, momentum 0, dampening 0, weight_decay 0 added to
// the gradient as L2, nesterov False; the momentum buffer starts as the first gradient).
#pragma once

#include <tandem/autograd/parameter_store.hpp>
#include <tandem/optim/param_groups.hpp>

#include <string>
#include <vector>

namespace tandem {

template <Backend B, Scalar T>
class SGD {
public:
    struct Options {
        T lr = T(1e-3);
        T momentum = T(0);
        T dampening = T(0);
        T weight_decay = T(0);
        bool nesterov = false;
    };

    explicit SGD(ParameterStore<B, T>& store, Options options = {}, std::vector<ParamGroup<T>> groups = {})
        : store_(store), options_(options), layout_(store, std::move(groups), "SGD") {
        // torch.optim.SGD's own checks, with its reasons.
        if (options_.lr < T(0)) detail::throw_error("SGD: lr: expected a value >= 0, found ", options_.lr);
        if (options_.momentum < T(0))
            detail::throw_error("SGD: momentum: expected a value >= 0, found ", options_.momentum);
        if (options_.weight_decay < T(0))
            detail::throw_error("SGD: weight_decay: expected a value >= 0, found ", options_.weight_decay);
        if (options_.nesterov && (options_.momentum <= T(0) || options_.dampening != T(0)))
            detail::throw_error("SGD: nesterov: expected momentum > 0 and dampening 0, found momentum ",
                                options_.momentum, " and dampening ", options_.dampening);
        // Without momentum there is no buffer to keep.
        if (options_.momentum != T(0)) momentum_buffer_ = Tensor<B, T>::zeros(store.values().shape());
    }

    // Applies the gradients now in the store's gradient arena.
    void step() {
        ++step_;
        auto values = store_.values();
        auto grads = store_.grads();
        for (const auto& r : layout_.runs()) {
            if (r.frozen) continue;
            const T lr = lr_scale_ * r.lr.value_or(options_.lr);
            const T wd = r.weight_decay.value_or(options_.weight_decay);
            T* buffer = momentum_buffer_.defined() ? momentum_buffer_.data() + r.begin : nullptr;
            B::sgd_step(values.data() + r.begin, grads.data() + r.begin, buffer, r.end - r.begin, lr,
                        options_.momentum, options_.dampening, wd, options_.nesterov, step_ == 1);
        }
    }

    void zero_grad() { store_.zero_grad(); }
    // Sets the default group's learning rate; groups with their own keep their ratio to
    // it, as a schedule scales every param_group of a torch optimizer.
    void set_lr(T lr) {
        if (options_.lr == T(0))
            detail::throw_error("SGD::set_lr: the default learning rate is 0, so there is no ratio to keep");
        lr_scale_ = lr / options_.lr;
    }
    T lr() const { return lr_scale_ * options_.lr; }
    long steps() const { return step_; }

    std::string group_of(const std::string& name) const { return layout_.group_of(name); }
    const ParamLayout<T>& layout() const { return layout_; }

private:
    ParameterStore<B, T>& store_;
    Options options_;
    ParamLayout<T> layout_;
    Tensor<B, T> momentum_buffer_;
    T lr_scale_ = T(1);
    long step_ = 0;
};

}  // namespace tandem
