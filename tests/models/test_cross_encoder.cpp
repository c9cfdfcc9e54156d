// CrossEncoder over BertForSequenceClassification against a tiny cross-encoder saved by
// the real sentence-transformers v6 CrossEncoder (tests/reference/make_cross_encoder_fixture.py):
// predict() in batches that pad differently and with a truncated pair, and rank().
#include <tandem/backend/cpu.hpp>
#include <tandem/infer/cross_encoder.hpp>
#include <tandem/models/bert.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "error_message.hpp"

using namespace tandem;

namespace {

const std::filesystem::path folder =
    std::filesystem::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "ce-bert-tiny";

nlohmann::json expected() {
    std::ifstream in(folder / "expected.json");
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE_TEMPLATE("CrossEncoder predicts and ranks as sentence-transformers' CrossEncoder", T, float,
                   double) {
    const auto e = expected();
    const auto model = CrossEncoder<Cpu, BertForSequenceClassification<Cpu, T>>::from_folder(folder);
    CHECK(model.activation_fn() == cross_encoder::Activation::sigmoid);
    std::vector<TextPair> pairs;
    for (const auto& p : e["pairs"]) pairs.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
    const std::vector<double> want = e["scores"];
    // Batches of 3, as the reference ran, and of every other size: padding changes nothing.
    for (std::size_t batch_size : {std::size_t{3}, std::size_t{1}, std::size_t{32}}) {
        const auto scores = model.predict(pairs, batch_size);
        REQUIRE(scores.shape() == std::vector<std::size_t>{pairs.size()});
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            INFO("pair " << i << ", batch size " << batch_size);
            CHECK(double(scores(i)) == doctest::Approx(want[i]).epsilon(1e-5));
        }
    }
    const auto ranked =
        model.rank(e["query"].get<std::string>(), e["documents"].get<std::vector<std::string>>(),
                   e["top_k"].get<std::size_t>(), 4);
    REQUIRE(ranked.size() == e["rank"].size());
    for (std::size_t i = 0; i < ranked.size(); ++i) {
        CHECK(ranked[i].corpus_id == e["rank"][i]["corpus_id"].get<std::size_t>());
        CHECK(ranked[i].score == doctest::Approx(e["rank"][i]["score"].get<double>()).epsilon(1e-5));
    }
    CHECK(testing::error_message([&] { model.predict(pairs, 0); }) ==
          "CrossEncoder::predict: batch_size must be positive, got 0");
}
