#include <tandem/core/bfloat16.hpp>

#include <tandem/autograd/ops.hpp>
#include <tandem/backend/cpu.hpp>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

using namespace tandem;

namespace {
std::uint16_t bits_of(float x) { return bfloat16(x).bits; }
}  // namespace

TEST_CASE("bfloat16 rounds to nearest with ties to even and keeps inf and NaN") {
    CHECK(bits_of(1.0f) == 0x3F80);
    CHECK(float(bfloat16(1.0f)) == 1.0f);
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: the tie goes to the even mantissa, 1.
    CHECK(bits_of(1.0f + 0x1p-8f) == 0x3F80);
    // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up, to even.
    CHECK(bits_of(1.0f + 3 * 0x1p-8f) == 0x3F82);
    CHECK(bits_of(1.0f + 0x1p-8f + 0x1p-20f) == 0x3F81);
    CHECK(bits_of(-2.5f) == 0xC020);
    CHECK(bits_of(std::numeric_limits<float>::infinity()) == 0x7F80);
    CHECK(bits_of(std::numeric_limits<float>::max()) == 0x7F80);  // rounds past the largest bf16
    CHECK(std::isnan(float(bfloat16(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(std::isnan(float(bfloat16(std::bit_cast<float>(0x7F800001u)))));  // a signalling NaN stays NaN
}

TEST_CASE("bf16 storage kernels: convert, GEMM and sum accumulate in the compute type") {
    const std::vector<float> a = {1.5f, -2.0f, 0.25f, 3.0f, 1.0f, -0.5f};  // exact in bf16
    const std::vector<float> b = {2.0f, 0.5f, -1.0f, 4.0f, 0.75f, 1.25f};
    std::vector<bfloat16> ah(6), bh(6);
    Cpu::convert(ah.data(), a.data(), 6);
    Cpu::convert(bh.data(), b.data(), 6);
    std::vector<float> back(6);
    Cpu::convert(back.data(), ah.data(), 6);
    CHECK(back == a);
    // [2, 3] x [3, 2], both ways of transposing B.
    std::vector<float> c_bf(4), c_f(4);
    Cpu::gemm(false, false, 2, 2, 3, 1.0f, ah.data(), 3, bh.data(), 2, 0.0f, c_bf.data(), 2);
    Cpu::gemm(false, false, 2, 2, 3, 1.0f, a.data(), 3, b.data(), 2, 0.0f, c_f.data(), 2);
    CHECK(c_bf == c_f);
    CHECK(c_f == std::vector<float>{1.5f * 2 - 2 * -1 + 0.25f * 0.75f, 1.5f * 0.5f - 2 * 4 + 0.25f * 1.25f,
                                    3 * 2 + 1 * -1 - 0.5f * 0.75f, 3 * 0.5f + 1 * 4 - 0.5f * 1.25f});
    Cpu::gemm(false, true, 2, 2, 3, 1.0f, ah.data(), 3, bh.data(), 3, 0.0f, c_bf.data(), 2);
    Cpu::gemm(false, true, 2, 2, 3, 1.0f, a.data(), 3, b.data(), 3, 0.0f, c_f.data(), 2);
    CHECK(c_bf == c_f);
    // 4096 copies of 1 + 2^-7: a bf16 accumulator would stall at 256; the float one does not.
    std::vector<bfloat16> many(4096, bfloat16(1.0f + 0x1p-7f));
    float total = 0;
    Cpu::sum_all(&total, many.data(), 4096);
    CHECK(total == 4096 * (1.0f + 0x1p-7f));
}

TEST_CASE("a ParameterStore with bf16 storage: forwards read the rounded weights, the master stays exact") {
    ParameterStore<Cpu, float> store;
    auto w = store.add("w", {3});
    store.value(w).copy_from(Tensor<Cpu, float>::zeros({3}));
    store.set_storage_type(DType::BF16);
    CHECK(store.storage_type() == DType::BF16);
    store.value(w).copy_from(Tensor<Cpu, float>::from_vector({1.0f + 0x1p-10f, -3.0f, 0.1f}, {3}));
    {
        Graph<Cpu, float> g;
        auto v = g.parameter(store, w);
        CHECK(v.value().to_vector() == std::vector<float>{1.0f, -3.0f, float(bfloat16(0.1f))});
        g.backward(sum(mul(v, v)));
    }
    // Gradients are in float, of the rounded weights; the master weights are untouched.
    CHECK(store.grad(w).to_vector() == std::vector<float>{2.0f, -6.0f, 2 * float(bfloat16(0.1f))});
    CHECK(store.value(w).to_vector()[0] == 1.0f + 0x1p-10f);
    // Writing the master weights refreshes what the next forward reads.
    store.value(w).copy_from(Tensor<Cpu, float>::from_vector({2.0f, 4.0f, 8.0f}, {3}));
    Graph<Cpu, float> g;
    CHECK(g.parameter(store, w).value().to_vector() == std::vector<float>{2.0f, 4.0f, 8.0f});
    store.set_storage_type(DType::F32);
    Graph<Cpu, float> h;
    CHECK(h.parameter(store, w).value().data() == store.value(w).data());
    CHECK_THROWS_WITH_AS(store.storage(), "ParameterStore::storage: the storage type is F32, not BF16",
                         Error);
    ParameterStore<Cpu, float> other;
    CHECK_THROWS_WITH_AS(other.set_storage_type(DType::F16),
                         "ParameterStore::set_storage_type: expected F32 or BF16, found F16", Error);
}
