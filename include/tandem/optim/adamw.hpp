// AdamW over a whole ParameterStore in one pass (the arena is contiguous).
// reference: torch.optim.AdamW (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8,
// weight_decay 1e-2, decay applied to every parameter).
#pragma once

#include <tandem/autograd/parameter_store.hpp>

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

    explicit AdamW(ParameterStore<B, T>& store, Options options = {})
        : store_(store),
          options_(options),
          m_(Tensor<B, T>::zeros(store.values().shape())),
          v_(Tensor<B, T>::zeros(store.values().shape())) {}

    // Applies the gradients now in the store's gradient arena.
    void step() {
        ++step_;
        auto values = store_.values();
        auto grads = store_.grads();
        B::adamw_step(values.data(), grads.data(), m_.data(), v_.data(), values.numel(), options_.lr,
                      options_.beta1, options_.beta2, options_.eps, options_.weight_decay, step_);
    }

    void zero_grad() { store_.zero_grad(); }
    void set_lr(T lr) { options_.lr = lr; }
    T lr() const { return options_.lr; }
    long steps() const { return step_; }

private:
    ParameterStore<B, T>& store_;
    Options options_;
    Tensor<B, T> m_, v_;
    long step_ = 0;
};

}  // namespace tandem
