// sentence-transformers' Pooling, Dense and Normalize: every pooling mode and a
// concatenation of them by hand in double with left and right padding and a prompt, the
// same against the real sentence-transformers modules (fixtures/st_modules, made by
// tests/reference/make_st_module_fixtures.py), gradients by finite differences, and their
// config.json files read, written and refused with the key named.
#include <tandem/io/config/sentence_transformers.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/backend/xtensor.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>
#include <xtensor/xnpy.hpp>

#include <cmath>
#include <filesystem>

#include "error_message.hpp"
#include "random.hpp"
#include "temp_dir.hpp"

using namespace tandem;
using TD = Tensor<Cpu, double>;
using PoolingD = Pooling<Cpu, double>;

namespace {

const std::filesystem::path fixtures =
    std::filesystem::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "st_modules";

TD load_doubles(const std::filesystem::path& npy) {
    return from_xtensor<Cpu, double>(xt::load_npy<double>(npy.string()));
}

Ids<Cpu> load_ids(const std::filesystem::path& npy) {
    return from_xtensor<Cpu, std::int64_t>(xt::load_npy<std::int64_t>(npy.string()));
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
    return d;
}

PoolingD pooling(std::vector<PoolingMode> modes, bool include_prompt = true) {
    return PoolingD(PoolingConfig{2, std::move(modes), include_prompt});
}

// x [2, 4, 2]: row 0 (1,2) (3,4) (5,6) (7,8) padded on the right, mask 1 1 1 0;
// row 1 (-1,0) (2,-2) (4,1) (0,3) padded on the left, mask 0 1 1 1.
struct HandCase {
    Graph<Cpu, double> g;
    Var<Cpu, double> x =
        g.input(TD::from_vector({1, 2, 3, 4, 5, 6, 7, 8, -1, 0, 2, -2, 4, 1, 0, 3}, {2, 4, 2}));
    Ids<Cpu> mask = Ids<Cpu>::from_vector({1, 1, 1, 0, 0, 1, 1, 1}, {2, 4});

    std::vector<double> pool(std::vector<PoolingMode> modes, index_t prompt_length = 0) {
        return pooling(std::move(modes), prompt_length == 0)
            .forward(g, x, mask, prompt_length)
            .value()
            .to_vector();
    }
};

}  // namespace

TEST_CASE("PoolingMasks: the prompt starts after left padding; weights of each weighted mode") {
    const std::vector<std::int64_t> mask{1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0};
    std::vector<std::int64_t> out(12);
    Cpu::exclude_prompt(out.data(), mask.data(), 3, 4, 2);
    CHECK(out == std::vector<std::int64_t>{0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0});
    Cpu::exclude_prompt(out.data(), mask.data(), 3, 4, 0);
    CHECK(out == mask);

    std::vector<double> w(12);
    const auto weights = [&](PoolingWeights kind, const std::vector<std::int64_t>& used) {
        Cpu::pooling_weights(w.data(), used.data(), mask.data(), 3, 4, kind);
        return w;
    };
    CHECK(weights(PoolingWeights::FirstToken, mask) ==
          std::vector<double>{1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0});
    CHECK(weights(PoolingWeights::LastToken, mask) ==
          std::vector<double>{0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0});
    CHECK(weights(PoolingWeights::Mean, mask) ==
          std::vector<double>{1 / 3.0, 1 / 3.0, 1 / 3.0, 0, 0, 1 / 3.0, 1 / 3.0, 1 / 3.0, 0, 0, 0, 0});
    const double r3 = 1 / std::sqrt(3.0);
    CHECK(weights(PoolingWeights::MeanSqrtLen, mask) ==
          std::vector<double>{r3, r3, r3, 0, 0, r3, r3, r3, 0, 0, 0, 0});
    // Weights 1, 2, 3 from the first real token; a prompt keeps the others' weights.
    CHECK(weights(PoolingWeights::WeightedMean, mask) ==
          std::vector<double>{1 / 6.0, 2 / 6.0, 3 / 6.0, 0, 0, 1 / 6.0, 2 / 6.0, 3 / 6.0, 0, 0, 0, 0});
    CHECK(weights(PoolingWeights::WeightedMean, {0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0}) ==
          std::vector<double>{0, 2 / 5.0, 3 / 5.0, 0, 0, 0, 2 / 5.0, 3 / 5.0, 0, 0, 0, 0});
}

TEST_CASE("Pooling: every sentence-transformers mode by hand, with right and left padding") {
    HandCase h;
    using M = PoolingMode;
    CHECK(h.pool({M::Cls}) == std::vector<double>{1, 2, 2, -2});
    CHECK(h.pool({M::Max}) == std::vector<double>{5, 6, 4, 3});
    CHECK(max_abs_diff(h.pool({M::Mean}), {3, 4, 2, 2 / 3.0}) < 1e-15);
    const double s3 = std::sqrt(3.0);
    CHECK(max_abs_diff(h.pool({M::MeanSqrtLenTokens}), {9 / s3, 12 / s3, 6 / s3, 2 / s3}) < 1e-14);
    CHECK(max_abs_diff(h.pool({M::WeightedMean}), {22 / 6.0, 28 / 6.0, 10 / 6.0, 9 / 6.0}) < 1e-14);
    CHECK(h.pool({M::LastToken}) == std::vector<double>{5, 6, 0, 3});
    // Several modes: one vector each, concatenated in the order given.
    CHECK(max_abs_diff(h.pool({M::LastToken, M::Cls, M::Mean}), {5, 6, 1, 2, 3, 4, 0, 3, 2, -2, 2, 2 / 3.0}) <
          1e-15);
    CHECK(pooling({M::Cls, M::Max}).config().output_dimension() == 4);
}

TEST_CASE("Pooling: include_prompt false leaves the prompt's tokens out, after left padding") {
    HandCase h;
    using M = PoolingMode;
    // One prompt token: row 0 keeps positions 1, 2; row 1 positions 2, 3.
    CHECK(h.pool({M::Cls}, 1) == std::vector<double>{3, 4, 4, 1});
    CHECK(h.pool({M::Max}, 1) == std::vector<double>{5, 6, 4, 3});
    CHECK(max_abs_diff(h.pool({M::Mean}, 1), {4, 5, 2, 2}) < 1e-15);
    CHECK(max_abs_diff(h.pool({M::WeightedMean}, 1), {21 / 5.0, 26 / 5.0, 8 / 5.0, 11 / 5.0}) < 1e-14);
    CHECK(h.pool({M::LastToken}, 1) == std::vector<double>{5, 6, 0, 3});
    // include_prompt true ignores the prompt length.
    CHECK(pooling({M::Cls}).forward(h.g, h.x, h.mask, 1).value().to_vector() ==
          std::vector<double>{1, 2, 2, -2});

    // A prompt as long as row 0: cls falls back to position 0, the means and lasttoken
    // give zeros as sentence-transformers does; max gives -1e9 plus the state where v6
    // gives -inf, so that a loss over it stays finite.
    const auto none = [&](M mode) { return h.pool({mode}, 3); };
    CHECK(none(M::Cls)[0] == 1);
    CHECK(none(M::Mean)[0] == 0);
    CHECK(none(M::WeightedMean)[1] == 0);
    CHECK(none(M::LastToken)[0] == 0);
    CHECK(none(M::Max)[0] < -1e8);
    CHECK_THROWS_WITH_AS(h.pool({M::Mean}, -1), "Pooling: prompt_length must be >= 0, found -1", Error);
    CHECK_THROWS_WITH_AS(PoolingD(PoolingConfig{3, {M::Mean}, true}).forward(h.g, h.x),
                         "Pooling: expected token states of width embedding_dimension 3, found [2, 4, 2]",
                         Error);
    CHECK_THROWS_WITH_AS(PoolingD(PoolingConfig{2, {}, true}), "Pooling: pooling_mode names no mode", Error);
}

TEST_CASE("Pooling: every mode and combination equals sentence-transformers' Pooling to 1e-10") {
    const auto states = load_doubles(fixtures / "states.npy");
    const auto cases = io::read_json_file(fixtures / "pooling" / "cases.json");
    int checked = 0;
    for (const auto& entry : cases.at("cases")) {
        const std::string name = entry.at("case");
        CAPTURE(name);
        const auto dir = fixtures / "pooling" / name;
        // The config is the one the real Pooling.save wrote.
        const PoolingD pool(io::read_pooling_config(dir));
        Graph<Cpu, double> g;
        const auto mask = load_ids(fixtures / ("mask_" + entry.at("mask").get<std::string>() + ".npy"));
        const auto out = pool.forward(g, g.input(states), mask, entry.at("prompt_length").get<index_t>());
        const auto expected = load_doubles(dir / "expected.npy");
        CHECK(out.shape() == expected.shape());
        CHECK(max_abs_diff(out.value().to_vector(), expected.to_vector()) < 1e-10);
        ++checked;
    }
    CHECK(checked == 30);
}

TEST_CASE("Pooling: gradients of every mode at once, with a prompt, by finite differences") {
    const auto mask = Ids<Cpu>::from_vector({1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1}, {3, 4});
    for (index_t prompt : {0, 1}) {
        const auto pool = PoolingD(PoolingConfig{
            3, std::vector<PoolingMode>(std::begin(kPoolingModes), std::end(kPoolingModes)), prompt == 0});
        const auto r = tandem::testing::gradcheck<Cpu>(
            [&](Graph<Cpu, double>& g, const std::vector<Var<Cpu, double>>& v) {
                return pool.forward(g, v[0], mask, prompt);
            },
            {tandem::testing::random_tensor<Cpu, double>({3, 4, 3}, 11)});
        CHECK(r.max_relative_error < 1e-7);
    }
}

TEST_CASE("Dense and Normalize equal sentence-transformers' modules, read from the folders they saved") {
    int checked = 0;
    for (const auto& folder : std::filesystem::directory_iterator(fixtures / "dense")) {
        const auto dir = folder.path();
        CAPTURE(dir.filename().string());
        const auto config = io::read_dense_config(dir);
        ParameterStore<Cpu, double> store;
        const Dense<Cpu, double> dense(store, Scope(), config);
        // model.safetensors holds linear.weight / linear.bias (and residual.weight) as named here.
        CHECK(load_state_dict(dense, store, io::SafetensorsCheckpoint::open(dir)).unexpected.empty());
        Graph<Cpu, double> g;
        const auto out = dense.forward(g, g.input(load_doubles(dir / "input.npy")));
        CHECK(max_abs_diff(out.value().to_vector(), load_doubles(dir / "expected.npy").to_vector()) < 1e-12);
        ++checked;
    }
    CHECK(checked == 5);

    const auto dir = fixtures / "normalize";
    io::read_normalize_config(dir);
    Graph<Cpu, double> g;
    const auto out = Normalize<Cpu, double>().forward(g, g.input(load_doubles(dir / "input.npy")));
    CHECK(max_abs_diff(out.value().to_vector(), load_doubles(dir / "expected.npy").to_vector()) < 1e-15);
}

TEST_CASE("Dense and Normalize: forward by hand, gradients by finite differences") {
    ParameterStore<Cpu, double> store;
    const Dense<Cpu, double> dense(store, Scope("2"), DenseConfig{.in_features = 2, .out_features = 2});
    std::vector<std::string> names;
    dense.for_each_parameter([&](const std::string& n, Parameter) { names.push_back(n); });
    CHECK(names == std::vector<std::string>{"2.linear.weight", "2.linear.bias"});
    store.value(store.find("2.linear.weight")).copy_from(TD::from_vector({1, 2, 0, -1}, {2, 2}));
    store.value(store.find("2.linear.bias")).copy_from(TD::from_vector({0.5, 0}, {2}));
    Graph<Cpu, double> g;
    // tanh([1 + 2 * 2 + 0.5, -2]) for x = (1, 2).
    const auto y = dense.forward(g, g.input(TD::from_vector({1, 2}, {1, 2}))).value().to_vector();
    CHECK(max_abs_diff(y, {std::tanh(5.5), std::tanh(-2.0)}) < 1e-15);
    CHECK(Normalize<Cpu, double>().forward(g, g.input(TD::from_vector({3, 4}, {1, 2}))).value().to_vector() ==
          std::vector<double>{0.6, 0.8});
    CHECK_THROWS_WITH_AS(dense.forward(g, g.input(TD::zeros({1, 3}))),
                         "Dense: expected embeddings [batch, 2], found [1, 3]", Error);

    for (DenseActivation a : kDenseActivations) {
        CAPTURE(dense_activation_name(a));
        ParameterStore<Cpu, double> s;
        Dense<Cpu, double> d(s, Scope(), DenseConfig{3, 2, true, a, true});
        d.reset_parameters(3);
        const auto x = tandem::testing::random_tensor<Cpu, double>({4, 3}, 5);
        const auto loss = [&](Graph<Cpu, double>& h) {
            auto out = Normalize<Cpu, double>().forward(h, d.forward(h, h.input(x)));
            return sum(mul(out, h.input(tandem::testing::random_tensor<Cpu, double>({4, 2}, 6))));
        };
        CHECK(tandem::testing::gradcheck_parameters<Cpu>(s, loss).max_relative_error < 1e-6);
        const auto r = tandem::testing::gradcheck<Cpu>(
            [&](Graph<Cpu, double>& h, const std::vector<Var<Cpu, double>>& v) {
                return Normalize<Cpu, double>().forward(h, d.forward(h, v[0]));
            },
            {x});
        CHECK(r.max_relative_error < 1e-6);
    }
}

TEST_CASE("module configs: v6 keys read and written as sentence-transformers does, legacy keys read") {
    const auto pooling_json = [](const char* text) {
        return io::pooling_config_from_json(nlohmann::json::parse(text), "1_Pooling/config.json");
    };
    auto c = pooling_json(
        R"({"embedding_dimension": 8, "pooling_mode": ["cls", "mean"], "include_prompt": false})");
    CHECK(c.embedding_dimension == 8);
    CHECK(c.pooling_mode == std::vector<PoolingMode>{PoolingMode::Cls, PoolingMode::Mean});
    CHECK_FALSE(c.include_prompt);
    // Written back, byte for byte what Pooling.save writes.
    for (const auto& folder : std::filesystem::directory_iterator(fixtures / "pooling")) {
        if (!folder.is_directory()) continue;
        CAPTURE(folder.path().filename().string());
        const auto text = detail::read_file_bytes(folder.path() / "config.json");
        CHECK(io::to_json(io::read_pooling_config(folder.path())).dump(4) == text);
    }
    // The legacy flags (st-bert-tiny's 1_Pooling) set modes in their concatenation order.
    c = pooling_json(R"({"word_embedding_dimension": 32, "pooling_mode_cls_token": false,
        "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": true, "pooling_mode_lasttoken": true,
        "pooling_mode_mean_sqrt_len_tokens": false, "pooling_mode_weightedmean_tokens": false})");
    CHECK(c.embedding_dimension == 32);
    CHECK(c.pooling_mode ==
          std::vector<PoolingMode>{PoolingMode::Max, PoolingMode::Mean, PoolingMode::LastToken});
    CHECK(c.include_prompt);
    CHECK(pooling_json(R"({"word_embedding_dimension": 4})").pooling_mode ==
          std::vector<PoolingMode>{PoolingMode::Mean});

    for (const auto& folder : std::filesystem::directory_iterator(fixtures / "dense")) {
        CAPTURE(folder.path().filename().string());
        const auto text = detail::read_file_bytes(folder.path() / "config.json");
        CHECK(io::to_json(io::read_dense_config(folder.path())).dump(4) == text);
    }
    CHECK(io::to_json(io::read_normalize_config(fixtures / "normalize")).dump(4) ==
          detail::read_file_bytes(fixtures / "normalize" / "config.json"));

    tandem::testing::TempDir out("st_module_configs");
    const DenseConfig dense{
        .in_features = 4, .out_features = 2, .bias = false, .activation_function = DenseActivation::Identity};
    io::write_module_config(out / "2_Dense", dense);
    const auto back = io::read_dense_config(out / "2_Dense");
    CHECK(back.in_features == 4);
    CHECK(back.out_features == 2);
    CHECK_FALSE(back.bias);
    CHECK(back.activation_function == DenseActivation::Identity);
    CHECK_FALSE(back.use_residual);
}

TEST_CASE("module configs: a bad value is an error naming the file and the key") {
    const auto pooling_error = [](const char* text) {
        return tandem::testing::error_message(
            [&] { io::pooling_config_from_json(nlohmann::json::parse(text), "1_Pooling/config.json"); });
    };
    CHECK(pooling_error(R"({"pooling_mode": "mean"})") ==
          "1_Pooling/config.json: key 'embedding_dimension': required key is missing");
    CHECK(pooling_error(R"({"embedding_dimension": 8, "pooling_mode": "avg"})") ==
          "1_Pooling/config.json: key 'pooling_mode': expected one of cls, max, mean, mean_sqrt_len_tokens, "
          "weightedmean, lasttoken; found \"avg\"");
    CHECK(pooling_error(R"({"embedding_dimension": 8, "pooling_mode": ["cls", 3]})") ==
          "1_Pooling/config.json: key 'pooling_mode[1]': expected a string, found number 3");
    CHECK(
        pooling_error(R"({"embedding_dimension": 8, "pooling_mode": []})") ==
        "1_Pooling/config.json: key 'pooling_mode': expected at least one pooling mode, found an empty list");
    CHECK(pooling_error(R"({"embedding_dimension": 0})") ==
          "1_Pooling/config.json: key 'embedding_dimension': expected an integer from 1 to 65536 (tandem's "
          "limit on widths), found 0");
    CHECK(pooling_error(R"({"word_embedding_dimension": 8, "include_prompt": "no"})") ==
          "1_Pooling/config.json: key 'include_prompt': expected a boolean, found string \"no\"");

    const auto dense_error = [](const char* text) {
        return tandem::testing::error_message(
            [&] { io::dense_config_from_json(nlohmann::json::parse(text), "2_Dense/config.json"); });
    };
    CHECK(dense_error(R"({"in_features": 4})") ==
          "2_Dense/config.json: key 'out_features': required key is missing");
    CHECK(dense_error(R"({"in_features": 4, "out_features": 2.5})") ==
          "2_Dense/config.json: key 'out_features': expected an integer, found number 2.5");
    CHECK(
        dense_error(
            R"({"in_features": 4, "out_features": 2, "activation_function": "torch.nn.modules.activation.Mish"})") ==
        "2_Dense/config.json: key 'activation_function': expected one of torch.nn.modules.linear.Identity, "
        "torch.nn.modules.activation.Tanh, torch.nn.modules.activation.ReLU, "
        "torch.nn.modules.activation.GELU, torch.nn.modules.activation.Sigmoid; found "
        "\"torch.nn.modules.activation.Mish\"");
    CHECK(dense_error(R"({"in_features": 4, "out_features": 2, "module_input_name": "token_embeddings"})") ==
          "2_Dense/config.json: key 'module_input_name': expected \"sentence_embedding\" (the only feature "
          "tandem's module stacks pass on), found \"token_embeddings\"");
    CHECK(tandem::testing::error_message([] {
              io::normalize_config_from_json(nlohmann::json::parse(R"({"module_output_name": 3})"),
                                             "3_Normalize/config.json");
          }) == "3_Normalize/config.json: key 'module_output_name': expected a string, found number 3");
}
