// AdamW over a ParameterStore, with parameter groups chosen by name pattern
// (optim/param_groups.hpp): each group may set its own learning rate and weight decay,
// or be frozen. Parameters that lie next to each other in the arena and share their
// settings are updated in one kernel call, so a store without groups is a single pass.
// reference: torch.optim.AdamW (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8,
// weight_decay 1e-2) and its param_groups; transformers' Trainer puts biases and
// LayerNorm weights in a group without weight decay.
#pragma once

#include <tandem/autograd/parameter_store.hpp>
#include <tandem/optim/param_groups.hpp>

#include <string>
#include <vector>

namespace tandem {

template <Backend B, Scalar T>
class AdamW {
public:
    struct Options {
        T lr = T(1e-3);
        T beta1 = T(0.9);
        T beta2 = T(0.999);
        T eps = T(1e-8);
        T weight_decay = T(1e-2);
    };

    explicit AdamW(ParameterStore<B, T>& store, Options options = {}, std::vector<ParamGroup<T>> groups = {})
        : store_(store),
          options_(options),
          layout_(store, std::move(groups), "AdamW"),
          m_(Tensor<B, T>::zeros(store.values().shape())),
          v_(Tensor<B, T>::zeros(store.values().shape())) {}

    // Applies the gradients now in the store's gradient arena.
    void step() {
        ++step_;
        auto values = store_.values();
        auto grads = store_.grads();
        for (const auto& r : layout_.runs()) {
            if (r.frozen) continue;
            const T lr = lr_scale_ * r.lr.value_or(options_.lr);
            const T wd = r.weight_decay.value_or(options_.weight_decay);
            B::adamw_step(values.data() + r.begin, grads.data() + r.begin, m_.data() + r.begin,
                          v_.data() + r.begin, r.end - r.begin, lr, options_.beta1, options_.beta2,
                          options_.eps, wd, step_);
        }
    }

    void zero_grad() { store_.zero_grad(); }
    // Sets the default group's learning rate; groups with their own keep their ratio to
    // it, as a schedule scales every param_group of a torch optimizer.
    void set_lr(T lr) {
        if (options_.lr == T(0))
            detail::throw_error(
                "AdamW::set_lr: the default learning rate is 0, so there is no ratio to keep");
        lr_scale_ = lr / options_.lr;
    }
    T lr() const { return lr_scale_ * options_.lr; }
    long steps() const { return step_; }
    // The moments (torch's exp_avg, exp_avg_sq), laid out as the parameter arena, and the
    // step count: what a checkpoint saves so that a resumed run takes the same steps.
    const Tensor<B, T>& exp_avg() const { return m_; }
    const Tensor<B, T>& exp_avg_sq() const { return v_; }
    void load_state(const Tensor<B, T>& exp_avg, const Tensor<B, T>& exp_avg_sq, long step) {
        if (!(exp_avg.shape() == m_.shape()) || !(exp_avg_sq.shape() == v_.shape()))
            detail::throw_error("AdamW::load_state: expected moments of shape ", m_.shape().str(),
                                " (the parameter arena), found ", exp_avg.shape().str(), " and ",
                                exp_avg_sq.shape().str());
        if (step < 0) detail::throw_error("AdamW::load_state: expected a step count >= 0, found ", step);
        m_.copy_from(exp_avg);
        v_.copy_from(exp_avg_sq);
        step_ = step;
    }

    // The group of each parameter by name ("" for the default group), for logs and tests.
    std::string group_of(const std::string& name) const { return layout_.group_of(name); }
    // The runs of the arena and their settings, which gradient clipping also walks.
    const ParamLayout<T>& layout() const { return layout_; }

private:
    ParameterStore<B, T>& store_;
    Options options_;
    ParamLayout<T> layout_;
    Tensor<B, T> m_, v_;
    T lr_scale_ = T(1);
    long step_ = 0;
};

}  // namespace tandem
