// nn modules: names, shapes and numbers against hand-worked cases.
#include <tandem/nn/sequential.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/nn.hpp>

#include <doctest/doctest.h>

#include "random.hpp"

using namespace tandem;
using TF = Tensor<Cpu, float>;

TEST_CASE("Sequential chains forward and visits every child's parameters in order") {
    ParameterStore<Cpu, float> store;
    Sequential net(Linear<Cpu, float>(store, "0", 3, 4), LayerNorm<Cpu, float>(store, "1", 4, 1e-5),
                   Linear<Cpu, float>(store, "2", 4, 2, false));
    static_assert(Module<decltype(net)>);
    std::vector<std::string> names;
    net.for_each_parameter([&](const std::string& n, Parameter) { names.push_back(n); });
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "2.weight"});
    // With the first Linear zeroed but its bias set, LayerNorm sees a constant row only
    // through the bias, and with unit weight, zero bias it normalises [1, 2, 3, 4].
    store.value(store.find("0.bias")).copy_from(TF::from_vector({1, 2, 3, 4}, {4}));
    store.value(store.find("1.weight")).copy_from(TF::full({4}, 1.0f));
    store.value(store.find("2.weight")).copy_from(TF::from_vector({1, 0, 0, 0, 0, 0, 0, 1}, {2, 4}));
    Graph<Cpu, float> g;
    auto y = net.forward(g, g.input(TF::zeros({1, 3}))).value().to_vector();
    // (1 - 2.5) / sqrt(1.25 + 1e-5) and (4 - 2.5) / sqrt(1.25 + 1e-5)
    CHECK(y[0] == doctest::Approx(-1.5 / std::sqrt(1.25 + 1e-5)));
    CHECK(y[1] == doctest::Approx(1.5 / std::sqrt(1.25 + 1e-5)));
}

TEST_CASE("pooling: CLS, positions, masked mean and masked max on a hand-made batch") {
    Graph<Cpu, float> g;
    // x [2, 3, 2]: row 0 tokens (1,2) (3,4) (5,6); row 1 tokens (-1,0) (7,-8) (9,9)
    auto x = g.input(TF::from_vector({1, 2, 3, 4, 5, 6, -1, 0, 7, -8, 9, 9}, {2, 3, 2}), true);
    CHECK(pool_cls(x).value().to_vector() == std::vector<float>{1, 2, -1, 0});
    CHECK(pool_last(x).value().to_vector() == std::vector<float>{5, 6, 9, 9});
    CHECK(pool_at(x, Ids<Cpu>::from_vector({2, 1}, {2})).value().to_vector() ==
          std::vector<float>{5, 6, 7, -8});
    const auto mask = Ids<Cpu>::from_vector({1, 1, 0, 1, 1, 0}, {2, 3});
    CHECK(pool_mean(g, x, mask).value().to_vector() == std::vector<float>{2, 3, 3, -4});
    CHECK(pool_max(g, x, mask).value().to_vector() == std::vector<float>{3, 4, 7, 0});
    CHECK_THROWS_WITH_AS(pool_at(x, Ids<Cpu>::from_vector({3, 0}, {2})),
                         "pool_at: positions range over [0, 3], outside [0, 3)", Error);
    CHECK_THROWS_WITH_AS(pool_mean(g, x, Ids<Cpu>::from_vector({1, 1, 0}, {1, 3})),
                         "pool_mean: expected a [2, 3] mask for states [2, 3, 2], found [1, 3]", Error);
}

TEST_CASE("PatchEmbedding equals a strided convolution written out in loops") {
    ParameterStore<Cpu, double> store;
    PatchEmbedding<Cpu, double> patch(store, "patch_embedding", 2, 2, 3, true);
    patch.for_each_parameter([&](const std::string&, Parameter p) { init_normal(store, p, 1.0, 3); });
    const auto pixels = tandem::testing::random_tensor<Cpu, double>({1, 2, 4, 6}, 9);
    Graph<Cpu, double> g;
    const auto y = patch.forward(g, g.input(pixels)).value().to_vector();  // [1, 6, 3]
    const auto w = store.value(store.find("patch_embedding.weight")).to_vector();
    const auto b = store.value(store.find("patch_embedding.bias")).to_vector();
    const auto px = pixels.to_vector();
    for (int py = 0; py < 2; ++py)
        for (int pxl = 0; pxl < 3; ++pxl)
            for (int o = 0; o < 3; ++o) {
                double s = b[o];
                for (int c = 0; c < 2; ++c)
                    for (int i = 0; i < 2; ++i)
                        for (int j = 0; j < 2; ++j)
                            s +=
                                w[((o * 2 + c) * 2 + i) * 2 + j] * px[(c * 4 + py * 2 + i) * 6 + pxl * 2 + j];
                CHECK(y[(py * 3 + pxl) * 3 + o] == doctest::Approx(s).epsilon(1e-12));
            }
}

TEST_CASE("activation names follow transformers' ACT2FN") {
    CHECK(activation_from_name("quick_gelu") == Activation::QuickGelu);
    CHECK(activation_from_name("gelu_pytorch_tanh") == Activation::GeluTanh);
    CHECK(activation_from_name("gelu") == Activation::Gelu);
    CHECK_THROWS_WITH_AS(
        activation_from_name("swish"),
        "hidden_act: expected one of gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, tanh; "
        "found 'swish'",
        Error);
}
