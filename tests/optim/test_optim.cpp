// Optimisation pieces against their references: every learning-rate schedule at chosen
// steps against transformers' lambdas evaluated in double (tests/optim values printed by
// running transformers.optimization's _lr_lambda functions), SGD against torch.optim.SGD's
// update written out, global-norm clipping against a hand-worked norm, and the
// parameter-group rules (glob, regex, learning_rate_mapping, frozen).
#include <tandem/optim.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "error_message.hpp"
#include "random.hpp"
#include "support/sealed_backend.hpp"

using namespace tandem;

TEST_CASE("every schedule equals transformers' lambda at chosen steps (3 warmup, 10 total)") {
    const std::vector<long> steps = {0, 1, 2, 3, 4, 6, 9, 10, 11, 12};
    // transformers.optimization, evaluated in Python: constant, constant_with_warmup(3),
    // linear/cosine(num_cycles 0.5)/cosine_with_restarts(num_cycles 2)/polynomial(lr_end
    // 1e-4, power 2, lr_init 1e-3) with (3, 10), inverse_sqrt(3) and inverse_sqrt(3, timescale 5).
    const std::map<std::string, std::vector<double>> expected = {
        {"constant", {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}},
        {"constant_with_warmup",
         {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}},
        {"linear",
         {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 0.8571428571428571, 0.5714285714285714,
          0.14285714285714285, 0.0, 0.0, 0.0}},
        {"cosine",
         {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 0.9504844339512095, 0.6112604669781572,
          0.04951556604879048, 0.0, 0.04951556604879043, 0.18825509907063315}},
        {"cosine_with_restarts",
         {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 0.8117449009293668, 0.04951556604879048,
          0.18825509907063342, 0.0, 0.0, 0.0}},
        {"polynomial",
         {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 0.7612244897959186, 0.3938775510204081,
          0.11836734693877553, 0.1, 0.1, 0.1}},
        {"inverse_sqrt",
         {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 0.8660254037844387, 0.7071067811865475,
          0.5773502691896258, 0.5477225575051661, 0.5222329678670935, 0.5}},
    };
    for (const auto& [name, values] : expected) {
        LRSchedule extra;
        if (name == "cosine_with_restarts") extra.num_cycles = 2;
        if (name == "polynomial") extra = {.lr_end = 1e-4, .power = 2.0, .lr_init = 1e-3};
        const auto schedule = get_scheduler(name, 3, 10, extra);
        for (std::size_t i = 0; i < steps.size(); ++i) {
            INFO(name << " at step " << steps[i]);
            CHECK(schedule.factor(steps[i]) == doctest::Approx(values[i]).epsilon(1e-14));
        }
    }
    const auto t5 = get_scheduler("inverse_sqrt", 3, 0, {.timescale = 5});
    const std::vector<double> t5_values = {0.0,
                                           0.3333333333333333,
                                           0.6666666666666666,
                                           1.0,
                                           0.9128709291752769,
                                           0.7905694150420948,
                                           0.674199862463242,
                                           0.6454972243679028,
                                           0.6201736729460422,
                                           0.5976143046671968};
    for (std::size_t i = 0; i < steps.size(); ++i)
        CHECK(t5.factor(steps[i]) == doctest::Approx(t5_values[i]).epsilon(1e-14));
    // No warmup: inverse_sqrt's timescale falls back to 10000, 1/sqrt(1 + step/10000).
    CHECK(get_scheduler("inverse_sqrt", 0, 0).factor(10000) == doctest::Approx(1 / std::sqrt(2.0)));
    CHECK(get_scheduler("linear", 3, 10).lr(2e-5, 4) == doctest::Approx(2e-5 * 6 / 7.0).epsilon(1e-14));
}

TEST_CASE("warmup by steps or by ratio, as TrainingArguments.get_warmup_steps") {
    CHECK(get_warmup_steps(1000, 0, 0.1) == 100);
    CHECK(get_warmup_steps(1001, 0, 0.1) == 101);  // ceil(100.1)
    CHECK(get_warmup_steps(1001, 0.1) == 101);     // transformers 5: warmup_steps below 1 is a ratio
    CHECK(get_warmup_steps(1000, 7, 0.5) == 7);    // steps win over a ratio
    CHECK(get_warmup_steps(1000, 0) == 0);
    CHECK(testing::error_message([] { get_warmup_steps(10, 0, 1.5); }) ==
          "warmup_ratio: expected a value in [0, 1], found 1.5");
    CHECK(testing::error_message([] { get_warmup_steps(10, -2); }) ==
          "warmup_steps: expected a value >= 0, found -2");
}

TEST_CASE("schedules reject what transformers rejects") {
    CHECK(testing::error_message([] { get_scheduler("warmup_cosine", 0, 10); }) ==
          "lr_scheduler_type: expected one of constant, constant_with_warmup, linear, cosine, "
          "cosine_with_restarts, polynomial, inverse_sqrt; found 'warmup_cosine'");
    CHECK(testing::error_message([] { get_scheduler("linear", 2, 0); }) ==
          "get_scheduler(linear): num_training_steps: expected > 0, found 0");
    CHECK(testing::error_message([] {
              get_scheduler("polynomial", 0, 10, {.lr_end = 1e-3, .lr_init = 1e-3});
          }) == "get_scheduler(polynomial): lr_end (0.001) must be smaller than the initial lr (0.001)");
    CHECK(testing::error_message([] { get_scheduler("constant", -1, 0); }) ==
          "get_scheduler(constant): num_warmup_steps: expected >= 0, found -1");
}

namespace {

// torch.optim.SGD's update for one tensor, written out from its _single_tensor_sgd.
struct TorchSgd {
    double lr, momentum, dampening, weight_decay;
    bool nesterov;
    std::vector<double> buffer;
    void step(std::vector<double>& p, const std::vector<double>& grad) {
        for (std::size_t i = 0; i < p.size(); ++i) {
            double g = grad[i];
            if (weight_decay != 0) g = g + weight_decay * p[i];
            if (momentum != 0) {
                if (buffer.size() < p.size())
                    buffer.push_back(g);
                else
                    buffer[i] = buffer[i] * momentum + (1 - dampening) * g;
                g = nesterov ? g + momentum * buffer[i] : buffer[i];
            }
            p[i] = p[i] - lr * g;
        }
    }
};

template <class B>
void check_sgd(typename SGD<B, double>::Options options) {
    ParameterStore<B, double> store;
    auto w = store.add("w", {5});
    auto p0 = testing::random_values(5, 3);
    store.value(w).copy_from(Tensor<B, double>::from_vector(p0, {5}));
    SGD<B, double> sgd(store, options);
    TorchSgd reference{options.lr,           options.momentum, options.dampening,
                       options.weight_decay, options.nesterov, {}};
    for (int step = 0; step < 4; ++step) {
        const auto g = testing::random_values(5, 100 + step);
        store.grad(w).copy_from(Tensor<B, double>::from_vector(g, {5}));
        sgd.step();
        reference.step(p0, g);
    }
    const auto got = store.value(w).to_vector();
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(p0[i]).epsilon(1e-14));
}

}  // namespace

TEST_CASE_TEMPLATE("SGD follows torch.optim.SGD: plain, momentum, dampening, nesterov, weight decay", B, Cpu,
                   testing::Sealed) {
    check_sgd<B>({.lr = 0.1});
    check_sgd<B>({.lr = 0.1, .momentum = 0.9});
    check_sgd<B>({.lr = 0.05, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.01});
    check_sgd<B>({.lr = 0.05, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true});
}

TEST_CASE("SGD by hand: two momentum steps, groups with their own rate and frozen groups") {
    ParameterStore<Cpu, double> store;
    auto a = store.add("encoder.weight", {2});
    auto b = store.add("encoder.bias", {1});
    auto c = store.add("head.weight", {1});
    store.value(a).copy_from(Tensor<Cpu, double>::from_vector({1, 2}, {2}));
    store.value(b).copy_from(Tensor<Cpu, double>::from_vector({3}, {1}));
    store.value(c).copy_from(Tensor<Cpu, double>::from_vector({4}, {1}));
    SGD<Cpu, double> sgd(
        store, {.lr = 0.1, .momentum = 0.5},
        {{.pattern = "*.bias", .frozen = true}, {.pattern = "^head\\.", .lr = 1.0, .regex = true}});
    for (int step = 0; step < 2; ++step) {
        store.grad(a).copy_from(Tensor<Cpu, double>::from_vector({1, -1}, {2}));
        store.grad(b).copy_from(Tensor<Cpu, double>::from_vector({1}, {1}));
        store.grad(c).copy_from(Tensor<Cpu, double>::from_vector({2}, {1}));
        sgd.step();
    }
    // buffer: g, then 0.5 g + g = 1.5 g; p <- p - lr (g + 1.5 g) = p - 2.5 lr g.
    CHECK(store.value(a).to_vector() == std::vector<double>{1 - 0.25, 2 + 0.25});
    CHECK(store.value(b).to_vector() == std::vector<double>{3});
    CHECK(store.value(c).to_vector() == std::vector<double>{4 - 5.0});
    CHECK(sgd.group_of("head.weight") == "^head\\.");
    using Sgd = SGD<Cpu, double>;
    CHECK(testing::error_message([&] { Sgd(store, {.lr = 0.1, .nesterov = true}); }) ==
          "SGD: nesterov: expected momentum > 0 and dampening 0, found momentum 0 and dampening 0");
    CHECK(testing::error_message([&] { Sgd(store, {.lr = -1}); }) ==
          "SGD: lr: expected a value >= 0, found -1");
    CHECK(testing::error_message([&] { Sgd(store, {}, {{.pattern = "(", .regex = true}}); })
              .rfind("SGD: parameter group pattern '(': expected a regular expression, found an invalid one",
                     0) == 0);
}

TEST_CASE_TEMPLATE("clip_grad_norm: the norm of all gradients together, scaled by max_norm / (norm + 1e-6)",
                   B, Cpu, testing::Sealed) {
    ParameterStore<B, double> store;
    auto a = store.add("a", {2});
    auto b = store.add("b", {1});
    auto frozen = store.add("frozen.w", {1});
    store.grad(a).copy_from(Tensor<B, double>::from_vector({3, 4}, {2}));
    store.grad(b).copy_from(Tensor<B, double>::from_vector({12}, {1}));
    // sqrt(9 + 16 + 144) = 13.
    CHECK(clip_grad_norm(store, 100.0) == doctest::Approx(13).epsilon(1e-15));
    CHECK(store.grad(a).to_vector() == std::vector<double>{3, 4});  // below max_norm: untouched
    const double coef = 6.5 / (13 + 1e-6);
    CHECK(clip_grad_norm(store, 6.5) == doctest::Approx(13).epsilon(1e-15));
    CHECK(store.grad(a).to_vector()[0] == doctest::Approx(3 * coef).epsilon(1e-15));
    CHECK(store.grad(b).to_vector()[0] == doctest::Approx(12 * coef).epsilon(1e-15));
    // A frozen group's gradient is neither counted nor scaled.
    store.grad(frozen).copy_from(Tensor<B, double>::from_vector({100}, {1}));
    AdamW<B, double> adam(store, {}, {{.pattern = "frozen.*", .frozen = true}});
    CHECK(clip_grad_norm(store, 1.0, adam.layout()) == doctest::Approx(6.5).epsilon(1e-6));
    CHECK(store.grad(frozen).to_vector() == std::vector<double>{100});
    CHECK(testing::error_message([&] { clip_grad_norm(store, 0.0); }) ==
          "clip_grad_norm: max_norm: expected a value > 0, found 0");
}

TEST_CASE("a random arena: clip_grad_norm's norm equals the norm computed in double on the host") {
    ParameterStore<Cpu, float> store;
    for (int i = 0; i < 7; ++i) store.add("layer." + std::to_string(i) + ".weight", {37 * (i + 1), 129});
    std::vector<double> all;
    for (int i = 0; i < 7; ++i) {
        const auto p = store.find("layer." + std::to_string(i) + ".weight");
        const auto v = testing::random_values(store.shape(p).numel(), 40 + i);
        all.insert(all.end(), v.begin(), v.end());
        store.grad(p).copy_from(
            Tensor<Cpu, float>::from_vector(std::vector<float>(v.begin(), v.end()), store.shape(p)));
    }
    double sum = 0;
    for (double v : all) sum += double(float(v)) * double(float(v));
    CHECK(clip_grad_norm(store, 1.0f) == doctest::Approx(std::sqrt(sum)).epsilon(1e-5));
    CHECK(clip_grad_norm(store, 1e9f) == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("parameter groups: each setting from the first group that sets it; learning_rate_mapping as ST") {
    ParameterStore<Cpu, double> store;
    store.add("text_model.encoder.layers.0.fc1.weight", {1});
    store.add("text_model.encoder.layers.0.fc1.bias", {1});
    store.add("vision_model.encoder.layers.0.fc1.weight", {1});
    store.add("vision_model.post_layernorm.bias", {1});
    store.add("logit_scale", {1});
    // Later patterns win where two match, as in sentence-transformers.
    auto groups = learning_rate_mapping<Cpu, double>(store, {{"_model\\.", 1e-4}, {"^text_model\\.", 1e-5}});
    groups.push_back({.pattern = "*.bias", .weight_decay = 0.0});
    groups.push_back({.pattern = "logit_scale", .weight_decay = 0.0});
    const ParamLayout<double> layout(store, groups, "test");
    // Each parameter is 16 elements of the arena (padding), one run per distinct setting.
    const auto& runs = layout.runs();
    REQUIRE(runs.size() == 5);
    CHECK(runs[0].lr == 1e-5);
    CHECK(!runs[0].weight_decay);
    CHECK(runs[1].lr == 1e-5);
    CHECK(runs[1].weight_decay == 0.0);
    CHECK(runs[2].lr == 1e-4);
    CHECK(runs[3].lr == 1e-4);
    CHECK(runs[3].weight_decay == 0.0);
    CHECK(!runs[4].lr);
    CHECK(runs[4].begin == 64);
    CHECK(runs[4].end == 80);
    CHECK(layout.group_of("text_model.encoder.layers.0.fc1.bias") == "^text_model\\.");
    CHECK(testing::error_message([&] {
              learning_rate_mapping<Cpu, double>(store, {{"^bert\\.", 1e-3}});
          }) ==
          "learning_rate_mapping: pattern '^bert\\.': expected it to match some parameter name, found none "
          "that it matches");
    // Neighbours with the same settings are one run: a store without groups is one pass.
    CHECK(ParamLayout<double>(store, {}, "test").runs().size() == 1);
}

TEST_CASE(
    "frozen is one flag: a frozen group freezes the store's parameters, a store-frozen one is frozen in "
    "every layout") {
    ParameterStore<Cpu, double> store;
    auto text = store.add("text_model.fc.weight", {2});
    auto vision = store.add("vision_model.fc.weight", {2});
    auto scale = store.add("logit_scale", {1});
    const ParamLayout<double> layout(store, {{.pattern = "vision_model.*", .frozen = true}}, "test");
    CHECK(store.requires_grad(text));
    CHECK(!store.requires_grad(vision));
    CHECK(store.requires_grad(scale));
    REQUIRE(layout.runs().size() == 3);
    CHECK(layout.runs()[1].frozen);

    store.freeze("logit_scale");
    const ParamLayout<double> plain(store, {}, "test");
    // The vision weight and logit_scale, neighbours and both frozen, make one run.
    REQUIRE(plain.runs().size() == 2);
    CHECK(!plain.runs()[0].frozen);
    CHECK(plain.runs()[1].frozen);
    // AdamW leaves a store-frozen parameter alone: no weight decay pulls it either.
    store.value(scale).copy_from(Tensor<Cpu, double>::from_vector({2.5}, {1}));
    store.value(text).copy_from(Tensor<Cpu, double>::from_vector({1, 1}, {2}));
    AdamW<Cpu, double> adam(store, {.lr = 0.1, .weight_decay = 0.5});
    adam.step();
    CHECK(store.value(scale).to_vector() == std::vector<double>{2.5});
    // A zero gradient moves an unfrozen parameter by weight decay alone: 1 - lr * wd.
    CHECK(store.value(text).to_vector()[0] == doctest::Approx(0.95).epsilon(1e-15));
}
