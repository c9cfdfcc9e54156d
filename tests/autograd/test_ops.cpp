// Every differentiable op against central finite differences in double.
#include <tandem/autograd/ops.hpp>
#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>

#include "random.hpp"

using namespace tandem;
using tandem::testing::gradcheck;
using tandem::testing::random_tensor;
using G = Graph<Cpu, double>;
using V = Var<Cpu, double>;
using VS = std::vector<V>;
using TD = Tensor<Cpu, double>;

namespace {
constexpr double tolerance = 1e-6;

Ids<Cpu> ids(const std::vector<std::int64_t>& values, const Shape& shape) {
    return Ids<Cpu>::from_vector(values, shape);
}

TD rnd(const Shape& s, std::uint64_t seed, double lo = -1, double hi = 1) {
    return random_tensor<Cpu, double>(s, seed, lo, hi);
}

void check(const char* name, const std::function<V(G&, const VS&)>& f, const std::vector<TD>& inputs) {
    auto r = gradcheck<Cpu>(f, inputs);
    INFO(name << ": worst input " << r.worst_input << ", relative error " << r.max_relative_error);
    CHECK(r.max_relative_error < tolerance);
}
}  // namespace

TEST_CASE("gradcheck: elementwise binary ops with broadcasting") {
    const Shape s{3, 5, 7};
    check("add", [](G&, const VS& x) { return add(x[0], x[1]); }, {rnd(s, 1), rnd(s, 2)});
    check("add bias", [](G&, const VS& x) { return add(x[0], x[1]); }, {rnd(s, 1), rnd({7}, 2)});
    check("add scalar first", [](G&, const VS& x) { return add(x[0], x[1]); }, {rnd({1}, 3), rnd(s, 2)});
    check("sub", [](G&, const VS& x) { return sub(x[0], x[1]); }, {rnd(s, 1), rnd({5, 7}, 2)});
    check("mul", [](G&, const VS& x) { return mul(x[0], x[1]); }, {rnd(s, 1), rnd(s, 2)});
    check("mul broadcast", [](G&, const VS& x) { return mul(x[0], x[1]); }, {rnd(s, 4), rnd({5, 7}, 5)});
    check("mul self", [](G&, const VS& x) { return mul(x[0], x[0]); }, {rnd(s, 4)});
    check("div", [](G&, const VS& x) { return div(x[0], x[1]); }, {rnd(s, 1), rnd({7}, 2, 0.5, 2.0)});
    check("scale", [](G&, const VS& x) { return scale(x[0], -2.5); }, {rnd(s, 6)});
}

TEST_CASE("gradcheck: unary ops") {
    const Shape s{3, 5, 7};
    check("exp", [](G&, const VS& x) { return exp(x[0]); }, {rnd(s, 1)});
    check("log", [](G&, const VS& x) { return log(x[0]); }, {rnd(s, 1, 0.2, 3.0)});
    check("sigmoid", [](G&, const VS& x) { return sigmoid(x[0]); }, {rnd(s, 2, -4, 4)});
    check("log_sigmoid", [](G&, const VS& x) { return log_sigmoid(x[0]); }, {rnd(s, 3, -6, 6)});
    check("relu", [](G&, const VS& x) { return relu(x[0]); }, {rnd(s, 4)});
    check("tanh", [](G&, const VS& x) { return tanh(x[0]); }, {rnd(s, 5, -3, 3)});
    check("gelu", [](G&, const VS& x) { return gelu(x[0]); }, {rnd(s, 6, -4, 4)});
    check("gelu_tanh", [](G&, const VS& x) { return gelu_tanh(x[0]); }, {rnd(s, 7, -4, 4)});
    check("quick_gelu", [](G&, const VS& x) { return quick_gelu(x[0]); }, {rnd(s, 8, -4, 4)});
    check("abs", [](G&, const VS& x) { return abs(x[0]); }, {rnd(s, 9, -4, 4)});
    check("sqrt", [](G&, const VS& x) { return sqrt(x[0]); }, {rnd(s, 10, 0.2, 3.0)});
}

TEST_CASE("gradcheck: reductions") {
    const Shape s{3, 5, 7};
    check("sum", [](G&, const VS& x) { return sum(x[0]); }, {rnd(s, 1)});
    check("mean", [](G&, const VS& x) { return mean(x[0]); }, {rnd(s, 2)});
    check("sum axis 0", [](G&, const VS& x) { return sum(x[0], 0); }, {rnd(s, 3)});
    check("sum axis 1", [](G&, const VS& x) { return sum(x[0], 1); }, {rnd(s, 3)});
    check("mean axis -1", [](G&, const VS& x) { return mean(x[0], -1); }, {rnd(s, 4)});
}

TEST_CASE("gradcheck: shape and layout ops") {
    const Shape s{3, 5, 7};
    check("reshape",
          [](G&, const VS& x) {
              return mul(reshape(x[0], {15, 7}), x[1]);
          },
          {rnd(s, 1), rnd({15, 7}, 2)});
    check("permute", [](G&, const VS& x) { return permute(x[0], {2, 0, 1}); }, {rnd(s, 3)});
    check("permute heads",
          [](G&, const VS& x) {
              return permute(x[0], {0, 2, 1, 3});
          },
          {rnd({2, 3, 4, 5}, 4)});
    check("concat axis 1",
          [](G&, const VS& x) {
              return concat<Cpu, double>({x[0], x[1], x[0]}, 1);
          },
          {rnd(s, 5), rnd({3, 2, 7}, 6)});
    check("slice", [](G&, const VS& x) { return slice(x[0], -1, 2, 6); }, {rnd(s, 7)});
    check("split",
          [](G&, const VS& x) {
              auto parts = split(x[0], 1, {1, 3, 1});
              return add(sum(mul(parts[0], parts[2]), 1), sum(parts[1], 1));
          },
          {rnd(s, 8)});
    check("gather_rows",
          [](G&, const VS& x) {
              return gather_rows(x[0], ids({4, 0, 4, 2}, {4}));
          },
          {rnd({5, 7}, 9)});
}

TEST_CASE("gradcheck: matmul and linear") {
    check("matmul 2d", [](G&, const VS& x) { return matmul(x[0], x[1]); }, {rnd({3, 5}, 1), rnd({5, 7}, 2)});
    check("matmul batched, shared b", [](G&, const VS& x) { return matmul(x[0], x[1]); },
          {rnd({3, 5, 7}, 3), rnd({7, 4}, 4)});
    check("matmul batched", [](G&, const VS& x) { return matmul(x[0], x[1]); },
          {rnd({3, 5, 7}, 5), rnd({3, 7, 2}, 6)});
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            Shape sa = ta ? Shape{2, 7, 5} : Shape{2, 5, 7}, sb = tb ? Shape{2, 3, 7} : Shape{2, 7, 3};
            check("matmul transposed", [=](G&, const VS& x) { return matmul(x[0], x[1], ta, tb); },
                  {rnd(sa, 7), rnd(sb, 8)});
            Shape sb2 = tb ? Shape{3, 7} : Shape{7, 3};
            check("matmul transposed, shared b", [=](G&, const VS& x) { return matmul(x[0], x[1], ta, tb); },
                  {rnd(sa, 9), rnd(sb2, 10)});
        }
    check("linear", [](G&, const VS& x) { return linear(x[0], x[1], &x[2]); },
          {rnd({3, 5, 7}, 11), rnd({4, 7}, 12), rnd({4}, 13)});
    check("linear without bias", [](G&, const VS& x) { return linear(x[0], x[1]); },
          {rnd({3, 7}, 14), rnd({4, 7}, 15)});
}

TEST_CASE("gradcheck: normalisation") {
    check("layer_norm", [](G&, const VS& x) { return layer_norm(x[0], x[1], x[2], 1e-5); },
          {rnd({3, 5, 7}, 1, -2, 2), rnd({7}, 2), rnd({7}, 3)});
    check("l2_normalize", [](G&, const VS& x) { return l2_normalize(x[0]); }, {rnd({3, 5, 7}, 4)});
    check("cosine_similarity", [](G&, const VS& x) { return cosine_similarity(x[0], x[1]); },
          {rnd({3, 7}, 5), rnd({5, 7}, 6)});
}

TEST_CASE("gradcheck: softmax family and losses") {
    check("softmax", [](G&, const VS& x) { return softmax(x[0]); }, {rnd({3, 5, 7}, 1, -3, 3)});
    check("log_softmax", [](G&, const VS& x) { return log_softmax(x[0]); }, {rnd({3, 5, 7}, 2, -3, 3)});
    check("cross_entropy",
          [](G&, const VS& x) {
              return cross_entropy(x[0], ids({6, 0, 3, 1, 6}, {5}));
          },
          {rnd({5, 7}, 3, -3, 3)});
    check("cross_entropy smoothing, ignore",
          [](G&, const VS& x) {
              return cross_entropy(x[0], ids({6, -100, 3, 1, 2}, {5}), 0.1);
          },
          {rnd({5, 7}, 4, -3, 3)});
    check("bce_with_logits", [](G&, const VS& x) { return binary_cross_entropy_with_logits(x[0], x[1]); },
          {rnd({3, 5, 7}, 5, -4, 4), rnd({3, 5, 7}, 6, 0, 1)});
}

TEST_CASE("gradcheck: attention and embedding") {
    const Shape q{2, 3, 5, 4}, k{2, 3, 6, 4};
    check("attention", [](G&, const VS& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); },
          {rnd(q, 1), rnd(k, 2), rnd(k, 3)});
    check("attention causal",
          [](G&, const VS& x) {
              AttentionOptions<Cpu, double> o;
              o.causal = true;
              return scaled_dot_product_attention(x[0], x[1], x[2], o);
          },
          {rnd(k, 4), rnd(k, 5), rnd(k, 6)});
    check("attention causal + padding",
          [](G&, const VS& x) {
              AttentionOptions<Cpu, double> o;
              o.causal = true;
              o.key_mask = ids({1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1}, {2, 6});
              o.scale = 0.7;
              return scaled_dot_product_attention(x[0], x[1], x[2], o);
          },
          {rnd(k, 7), rnd(k, 8), rnd(k, 9)});
    check("attention + score bias + padding",
          [](G&, const VS& x) {
              AttentionOptions<Cpu, double> o;
              o.key_mask = ids({1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1}, {2, 6});
              o.bias = x[3];
              return scaled_dot_product_attention(x[0], x[1], x[2], o);
          },
          {rnd(q, 14), rnd(k, 15), rnd(k, 16), rnd({3, 5, 6}, 17, -2, 2)});
    check("embedding",
          [](G&, const VS& x) {
              return embedding(x[0], ids({1, 3, 3, 0, 5, 1}, {2, 3}));
          },
          {rnd({6, 7}, 10)});
}

TEST_CASE("embedding with padding_idx reads that row but sends it no gradient") {
    G g;
    const auto table = g.input(rnd({6, 4}, 20), true);
    const auto ids_used = ids({1, 3, 3, 0, 5, 1}, {2, 3});
    const auto out = embedding(table, ids_used, std::int64_t{3});
    CHECK(out.value().to_vector() == embedding(table, ids_used).value().to_vector());
    g.backward(sum(out));
    const auto grad = table.grad().to_vector();
    const double counts[6] = {1, 2, 0, 0, 0, 1};
    for (int r = 0; r < 6; ++r)
        for (int c = 0; c < 4; ++c) CHECK(grad[r * 4 + c] == counts[r]);
}

TEST_CASE("gradcheck: attention with dropout on the probabilities, in train mode with a fixed seed") {
    const Shape q{2, 3, 5, 4}, k{2, 3, 6, 4};
    const GraphOptions train{.training = true, .seed = 17};
    auto f = [](G&, const VS& x) {
        AttentionOptions<Cpu, double> o;
        o.key_mask = ids({1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1}, {2, 6});
        o.dropout = 0.3;
        return scaled_dot_product_attention(x[0], x[1], x[2], o);
    };
    const std::vector<TD> inputs = {rnd(q, 11), rnd(k, 12), rnd(k, 13)};
    const auto r = gradcheck<Cpu>(f, inputs, 1e-6, 1234, train);
    INFO("worst input " << r.worst_input << ", relative error " << r.max_relative_error);
    CHECK(r.max_relative_error < tolerance);
    // The mask is in effect: the train-mode output differs from eval mode's.
    G eval, training(train);
    auto out = [&](G& g) {
        VS x;
        for (const auto& t : inputs) x.push_back(g.input(t));
        return f(g, x).value().to_vector();
    };
    CHECK(out(eval) != out(training));
}

TEST_CASE("gradcheck: max over an axis") {
    check("max axis 1", [](G&, const VS& x) { return max(x[0], 1); }, {rnd({3, 5, 7}, 1)});
    check("max axis -1", [](G&, const VS& x) { return max(x[0], -1); }, {rnd({3, 5, 7}, 2)});
}
