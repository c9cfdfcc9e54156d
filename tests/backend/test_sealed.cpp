// The Backend contract admits a device backend: models, losses, pooling, dropout and
// the optimizer run on Sealed (tests/support/sealed_backend.hpp), whose memory faults
// when host code touches it, and give the CPU's bits.
#include "support/sealed_backend.hpp"

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/nn/pooling.hpp>

#include <doctest/doctest.h>

#include <csetjmp>
#include <csignal>

#include "mlp/xor_task.hpp"

using namespace tandem;
using tandem::testing::Sealed;

namespace {

sigjmp_buf fault_jump;

void on_fault(int) { siglongjmp(fault_jump, 1); }

// True when reading the first element of t from host code faults.
template <class T>
bool host_read_faults(const Tensor<Sealed, T>& t) {
    struct sigaction action {
    }, previous{};
    action.sa_handler = on_fault;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous);
    bool faulted = true;
    if (sigsetjmp(fault_jump, 1) == 0) {
        [[maybe_unused]] volatile T value = *t.data();
        faulted = false;
    }
    sigaction(SIGSEGV, &previous, nullptr);
    return faulted;
}

template <Backend B>
std::vector<std::vector<float>> small_ops() {
    Graph<B, float> g({.training = true, .seed = 3});
    auto x = g.input(Tensor<B, float>::from_vector({1, 2, 3, 4, 5, 6, -1, 0, 7, -8, 9, 9}, {2, 3, 2}), true);
    const auto mask = Ids<B>::from_vector({1, 1, 0, 1, 1, 0}, {2, 3});
    auto pooled = add(pool_mean(g, x, mask), pool_max(g, x, mask));
    auto logits = matmul(pooled, pooled, false, true);
    auto loss = add(add(clip_loss(logits), siglip_loss(g, logits)), sum(dropout(x, 0.5f)));
    g.backward(loss);
    return {
        pooled.value().to_vector(), logits.value().to_vector(), {loss.value().item()}, x.grad().to_vector()};
}

}  // namespace

#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("Sealed memory faults on host access and opens only for kernels and explicit copies") {
    auto t = Tensor<Sealed, float>::from_vector({1, 2, 3}, {3});
    CHECK(host_read_faults(t));
    CHECK(t.to_vector() == std::vector<float>{1, 2, 3});
    CHECK(host_read_faults(t));
}
#endif

TEST_CASE("pooling, dropout, the contrastive losses and backward on Sealed equal the CPU") {
    CHECK(small_ops<Sealed>() == small_ops<Cpu>());
}

TEST_CASE("the XOR MLP trains on Sealed with AdamW to the CPU's bits") {
    CHECK(xor_task::train<Sealed>(30, 42) == xor_task::train<Cpu>(30, 42));
}
