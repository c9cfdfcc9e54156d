// CrossEncoder over BertForSequenceClassification against a tiny cross-encoder saved by
// the real sentence-transformers v6 CrossEncoder (tests/reference/make_cross_encoder_fixture.py):
// predict() in batches that pad differently and with a truncated pair, and rank(); and over
// ViltForImageAndTextRetrieval against shared/data/models/vilt-tiny-itm's scores.
#include <tandem/backend/cpu.hpp>
#include <tandem/image/crop.hpp>
#include <tandem/infer/cross_encoder.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/vilt.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "error_message.hpp"
#include "test_data.hpp"

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

TEST_CASE_TEMPLATE("CrossEncoder over ViLT scores text-image pairs as transformers does on vilt-tiny-itm", T,
                   float, double) {
    auto dir = tandem::testing::test_data("models/vilt-tiny-itm");
    auto images = tandem::testing::test_data("images");
    if (!dir || !images) return;
    // The reference's token ids come from a vocabulary where id k is the word "w<k>", so
    // the texts below tokenize back to inputs/input_ids.npy (row 3's [UNK] is "zzz").
    const auto folder = std::filesystem::temp_directory_path() / "tandem_vilt_cross_encoder";
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    for (const char* file : {"config.json", "model.safetensors", "preprocessor_config.json"})
        std::filesystem::copy_file(*dir / file, folder / file);
    {
        std::ofstream vocab(folder / "vocab.txt");
        vocab << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
        for (int id = 5; id < 300; ++id) vocab << "w" << id << "\n";
    }
    const std::vector<std::string> texts{"w30 w49 w101 w70 w271 w198 w258 w297 w139 w131 w5 w289",
                                         "w271 w262 w280 w202", "w213",
                                         "w108 w121 w256 zzz w222 w148 w189 w297"};
    std::vector<image::ImageU8> pictures;
    for (const char* name : {"astronaut.png", "chelsea.png", "coffee_tiny_17x9.png"})
        pictures.push_back(image::load_image(*images / name));
    pictures.push_back(image::crop(image::load_image(*images / "chelsea.png"), 0, 100, 300, 200));
    std::vector<TextImagePair> pairs;
    std::vector<ImageTextPair> swapped;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        pairs.emplace_back(texts[i], pictures[i]);
        swapped.emplace_back(pictures[i], texts[i]);
    }

    const auto model = CrossEncoder<Cpu, ViltForImageAndTextRetrieval<Cpu, T>>::from_folder(folder);
    const auto want = xt::load_npy<double>((*dir / "expected" / "f64" / "scores.npy").string());
    const double tolerance = sizeof(T) == 8 ? 1e-12 : 1e-6;
    // The whole batch, as the reference ran, and one pair at a time: neither the text
    // padding nor the image padding changes a score.
    for (std::size_t batch_size : {std::size_t{4}, std::size_t{1}}) {
        const auto scores = model.predict(pairs, batch_size), again = model.predict(swapped, batch_size);
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            INFO("pair " << i << ", batch size " << batch_size);
            CHECK(double(scores(i)) == doctest::Approx(want(i)).epsilon(tolerance));
            CHECK(double(again(i)) == double(scores(i)));
        }
    }
    // Ranked for the first text: the pictures by their scores with it.
    const auto alone = model.predict(std::vector<TextImagePair>{
        {texts[0], pictures[0]}, {texts[0], pictures[1]}, {texts[0], pictures[2]}, {texts[0], pictures[3]}});
    const auto ranked = model.rank(texts[0], pictures, 2);
    REQUIRE(ranked.size() == 2);
    CHECK(ranked[0].score >= ranked[1].score);
    for (const auto& r : ranked) CHECK(r.score == double(alone(r.corpus_id)));
    for (std::size_t i = 0; i < pictures.size(); ++i)
        if (i != ranked[0].corpus_id) CHECK(double(alone(i)) <= ranked[0].score);
    std::filesystem::remove_all(folder);
}

TEST_CASE("CrossEncoder saves the folder sentence-transformers' CrossEncoder writes and loads it back") {
    const auto e = expected();
    const auto model = CrossEncoder<Cpu, BertForSequenceClassification<Cpu, float>>::from_folder(folder);
    const auto out = std::filesystem::temp_directory_path() / "tandem_ce_saved";
    std::filesystem::remove_all(out);
    model.save(out);
    // The files the reference save wrote (expected.json is the fixture's own).
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        const auto name = entry.path().filename().string();
        if (name != "expected.json") CHECK_MESSAGE(std::filesystem::exists(out / name), name);
    }
    const auto json = [](const std::filesystem::path& p) {
        std::ifstream in(p);
        return nlohmann::json::parse(in);
    };
    CHECK(json(out / "modules.json") == json(folder / "modules.json"));
    CHECK(json(out / "sentence_bert_config.json") == json(folder / "sentence_bert_config.json"));
    for (const char* key : {"activation_fn", "model_type", "prompts", "default_prompt_name"})
        CHECK(json(out / "config_sentence_transformers.json")[key] ==
              json(folder / "config_sentence_transformers.json")[key]);
    CHECK(json(out / "tokenizer_config.json")["model_max_length"] == 24);
    CHECK(json(out / "tokenizer_config.json")["model_input_names"] ==
          nlohmann::json{"input_ids", "token_type_ids", "attention_mask"});
    const auto again = CrossEncoder<Cpu, BertForSequenceClassification<Cpu, float>>::from_folder(out);
    std::vector<TextPair> pairs;
    for (const auto& p : e["pairs"]) pairs.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
    const auto before = model.predict(pairs), after = again.predict(pairs);
    for (std::size_t i = 0; i < pairs.size(); ++i) CHECK(double(after(i)) == double(before(i)));
    std::filesystem::remove_all(out);
}
