#include <tandem/core/tensor.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/backend/xtensor.hpp>
#include <tandem/core/rng.hpp>

#include <doctest/doctest.h>

#include <set>

using namespace tandem;
using TF = Tensor<Cpu, float>;

TEST_CASE("Shape: numel, outer/inner products, negative axes and errors") {
    Shape s{3, 5, 7};
    CHECK(s.numel() == 105);
    CHECK(s[-1] == 7);
    CHECK(s.outer(1) == 3);
    CHECK(s.inner(1) == 7);
    CHECK(s.str() == "[3, 5, 7]");
    CHECK(Shape{}.numel() == 1);
    CHECK_THROWS_WITH_AS(s[3], "axis 3 is out of range for shape [3, 5, 7]", Error);
    CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5, 6, 7}), Error);
}

TEST_CASE("Tensor: copies share the buffer, clone copies it, views see the same memory") {
    auto t = TF::from_vector({0, 1, 2, 3, 4, 5}, {3, 2});
    TF shared = t;
    auto copy = t.clone();
    t.data()[0] = 10;
    CHECK(shared.data()[0] == 10);
    CHECK(copy.data()[0] == 0);
    auto row = t.rows(1, 3);
    CHECK(row.shape() == Shape{2, 2});
    CHECK(row.data()[0] == 2);
    auto flat = t.reshape({6});
    CHECK(flat.to_vector() == std::vector<float>{10, 1, 2, 3, 4, 5});
    auto x = to_xarray(t);
    CHECK(x.shape()[0] == 3);
    CHECK(x(2, 1) == 5);
    CHECK(from_xtensor<Cpu, float>(x).to_vector() == t.to_vector());
    CHECK(t.rows(0, 1).reshape({2}).to_vector() == std::vector<float>{10, 1});
}

TEST_CASE("Tensor: misuse gives tandem::Error naming shapes and dtypes") {
    auto t = TF::zeros({2, 3});
    CHECK_THROWS_WITH_AS(t.reshape({4, 2}),
                         "reshape: cannot view shape [2, 3] (6 elements) as [4, 2] (8 elements)", Error);
    CHECK_THROWS_WITH_AS(t.rows(1, 3), "rows: range [1, 3) is outside shape [2, 3]", Error);
    CHECK_THROWS_WITH_AS(TF::from_vector({1, 2}, {3}),
                         "Tensor::from_vector: shape [3] holds 3 elements, found 2 values", Error);
    const double d[2] = {1, 2};
    CHECK_THROWS_WITH_AS(TF::from_bytes(d, DType::F64, {2}),
                         "Tensor<F32>::from_bytes: expected dtype F32, found F64", Error);
    const float f[2] = {1, 2};
    CHECK(TF::from_bytes(f, DType::F32, {2}).to_vector() == std::vector<float>{1, 2});
    CHECK_THROWS_WITH_AS(t.item(), "item: expected one element, found shape [2, 3]", Error);
    auto u = TF::zeros({3, 2});
    CHECK_THROWS_WITH_AS(t.copy_from(u), "copy_from: shape mismatch, destination [2, 3], source [3, 2]",
                         Error);
}

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors") {
    // Counter (index, stream) and key (seed) as the 32-bit words of the reference tests.
    CHECK(Philox(0, 0).block(0) ==
          std::array<std::uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    CHECK(Philox(~0ull, ~0ull).block(~0ull) ==
          std::array<std::uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    CHECK(Philox(0x299f31d0a4093822ull, 0x0370734413198a2eull).block(0x85a308d3243f6a88ull) ==
          std::array<std::uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("Philox draws: uniform moments, normal moments, unbiased below()") {
    Philox rng(42, 3);
    const int n = 200000;
    double s = 0, s2 = 0, ns = 0, ns2 = 0;
    bool in_range = true;
    for (int i = 0; i < n; ++i) {
        const double u = rng.uniform(i), z = rng.normal(i);
        in_range = in_range && u >= 0.0 && u < 1.0;
        s += u;
        s2 += u * u;
        ns += z;
        ns2 += z * z;
    }
    CHECK(in_range);
    // Means within about 5 standard errors of 1/2, 0; variances of 1/12, 1.
    CHECK(std::abs(s / n - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
    CHECK(std::abs(s2 / n - s * s / n / n - 1.0 / 12) < 0.002);
    CHECK(std::abs(ns / n) < 5 / std::sqrt(double(n)));
    CHECK(std::abs(ns2 / n - 1) < 0.02);
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(rng.below(7, i));
    CHECK(seen == std::set<std::uint64_t>{0, 1, 2, 3, 4, 5, 6});
    CHECK(Philox(1, 0).uniform(5) != Philox(1, 1).uniform(5));
    CHECK(Philox(1, 0).uniform(5) == Philox(1, 0).uniform(5));
}

TEST_CASE("Cpu memory: freed blocks are cached by size, reused, and released on request") {
    Cpu::empty_cache();
    CHECK(Cpu::cached_bytes() == 0);
    void* first = nullptr;
    {
        auto t = TF::zeros({1000});
        first = t.data();
    }
    CHECK(Cpu::cached_bytes() == 4032);  // 4000 bytes rounded up to the 64-byte alignment
    auto again = TF::zeros({1000});
    CHECK(again.data() == first);
    CHECK(Cpu::cached_bytes() == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(again.data()) % 64 == 0);
    Cpu::set_cache_limit(1024);
    { auto big = TF::zeros({1000}); }
    CHECK(Cpu::cached_bytes() == 0);  // over the limit: freed, not kept
    Cpu::set_cache_limit(std::size_t{4} << 30);
}
