// Built with single_include/ as the only tandem include path: the generated header
// must stand alone.
#include <tandem/tandem.hpp>

#include <doctest/doctest.h>

TEST_CASE("the single header alone builds a graph and differentiates through it") {
    using namespace tandem;
    Graph<Cpu, double> g;
    auto x = g.input(Tensor<Cpu, double>::from_vector({0.5, -1.0, 2.0}, {3}), true);
    auto loss = sum(mul(tanh(x), x));
    g.backward(loss);
    // d/dx (x tanh x) = tanh x + x (1 - tanh^2 x)
    const auto grad = x.grad().to_vector();
    const double xs[3] = {0.5, -1.0, 2.0};
    for (int i = 0; i < 3; ++i)
        CHECK(grad[i] ==
              doctest::Approx(std::tanh(xs[i]) + xs[i] * (1 - std::tanh(xs[i]) * std::tanh(xs[i]))));
}
