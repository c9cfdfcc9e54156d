// The `tandem` command line end to end: each subcommand on reference data, its output
// compared with the reference files.
#include <tandem/io/safetensors.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnpy.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "command.hpp"
#include "test_data.hpp"

namespace fs = std::filesystem;
using tandem::testing::relative_difference;
using tandem::testing::run;
using tandem::testing::scratch;

namespace {
// The texts of a shared model folder's manifest.json, also written one per line to `path`.
std::vector<std::string> write_manifest_texts(const fs::path& model, const fs::path& path) {
    std::ifstream in(model / "manifest.json");
    const auto texts = nlohmann::json::parse(in).at("texts").get<std::vector<std::string>>();
    std::ofstream out(path);
    for (const auto& t : texts) out << t << "\n";
    return texts;
}
}  // namespace

TEST_CASE("tandem forward: CLIP embeddings, logits, loss and every gradient match transformers") {
    auto dir = tandem::testing::test_data("models/clip-tiny");
    if (!dir) return;
    const auto out = scratch("cli", "forward");
    const auto in = *dir / "inputs";
    const auto [status, text] =
        run(std::string(TANDEM_CLI) + " forward --model " + dir->string() + " --input-ids " +
            (in / "input_ids.npy").string() + " --attention-mask " + (in / "attention_mask.npy").string() +
            " --pixel-values " + (in / "pixel_values.npy").string() + " --loss clip --grads --out " +
            out.string() + " 2>&1");
    INFO(text);
    REQUIRE(status == 0);
    const auto expected = *dir / "expected" / "f64";
    auto npy = [](const fs::path& p) { return xt::xarray<double>(xt::load_npy<float>(p.string())); };
    auto ref = [](const fs::path& p) { return xt::load_npy<double>(p.string()); };
    CHECK(relative_difference(npy(out / "text_embeds.npy"), ref(expected / "text_embeds_unnormalized.npy")) <
          1e-5);
    CHECK(relative_difference(npy(out / "image_embeds.npy"),
                              ref(expected / "image_embeds_unnormalized.npy")) < 1e-5);
    CHECK(relative_difference(npy(out / "logits_per_image.npy"), ref(expected / "logits_per_image.npy")) <
          1e-5);
    CHECK(std::abs(npy(out / "loss.npy")() - ref(expected / "loss.npy")()) < 1e-5);
    const auto grads = tandem::io::SafetensorsFile::open(out / "grads.safetensors");
    const auto reference = tandem::io::SafetensorsFile::open(*dir / "grads.safetensors");
    CHECK(grads.names() == reference.names());
    const auto ours = grads.read_as<double>("text_model.encoder.layers.1.mlp.fc2.weight");
    const auto theirs = reference.read_as<double>("text_model.encoder.layers.1.mlp.fc2.weight");
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        diff += (ours[i] - theirs[i]) * (ours[i] - theirs[i]);
        norm += theirs[i] * theirs[i];
    }
    CHECK(std::sqrt(diff / norm) < 1e-4);
    fs::remove_all(out);
}

TEST_CASE(
    "tandem forward: BERT, ViLT and BLIP cross-encoders' logits, loss and every gradient match "
    "transformers") {
    struct Case {
        std::string name, inputs, loss, labels, logits, loss_file, grads;
    };
    const std::vector<Case> cases{
        {"bert-tiny-cls", "token_type_ids", "bce", "labels", "logits", "loss", "grads"},
        {"vilt-tiny-itm", "token_type_ids pixel_values pixel_mask", "bce", "labels", "logits", "loss",
         "grads"},
        {"blip-tiny-itm", "pixel_values", "ce", "itm_labels", "itm_logits", "loss_itm", "grads_itm"},
    };
    for (const auto& c : cases) {
        auto dir = tandem::testing::test_data("models/" + c.name);
        if (!dir) return;
        const auto out = scratch("cli", "forward_" + c.name);
        const auto in = *dir / "inputs";
        std::string inputs = " --input-ids " + (in / "input_ids.npy").string() + " --attention-mask " +
                             (in / "attention_mask.npy").string();
        std::istringstream extra(c.inputs);
        for (std::string input; extra >> input;) {
            std::string option = input;
            std::replace(option.begin(), option.end(), '_', '-');
            inputs += " --" + option + " " + (in / (input + ".npy")).string();
        }
        const auto [status, text] =
            run(std::string(TANDEM_CLI) + " forward --double --model " + dir->string() + inputs +
                " --labels " + (in / (c.labels + ".npy")).string() + " --loss " + c.loss + " --grads --out " +
                out.string() + " 2>&1");
        INFO(c.name << ": " << text);
        REQUIRE(status == 0);
        const auto expected = *dir / "expected" / "f64";
        auto ref = [](const fs::path& p) { return xt::load_npy<double>(p.string()); };
        CHECK(relative_difference(ref(out / "logits.npy"), ref(expected / (c.logits + ".npy"))) < 1e-12);
        CHECK(std::abs(ref(out / "loss.npy")() - ref(expected / (c.loss_file + ".npy"))()) < 1e-12);
        const auto grads = tandem::io::SafetensorsFile::open(out / "grads.safetensors");
        const auto reference = tandem::io::SafetensorsFile::open(*dir / (c.grads + ".safetensors"));
        CHECK(grads.names() == reference.names());
        // Every gradient, relative to the tensor's largest reference entry (the key biases'
        // reference is rounding noise around their exact 0).
        double worst = 0;
        for (const auto& tensor : reference.names()) {
            const auto ours = grads.read_as<double>(tensor), theirs = reference.read_as<double>(tensor);
            double largest = 1e-300, diff = 0;
            for (std::size_t i = 0; i < ours.size(); ++i) {
                largest = std::max(largest, std::abs(theirs[i]));
                diff = std::max(diff, std::abs(ours[i] - theirs[i]));
            }
            worst = std::max(worst, largest > 1e-12 ? diff / largest : diff);
        }
        CHECK(worst < 1e-10);
        fs::remove_all(out);
    }
}

TEST_CASE("tandem forward, preprocess, tokenize and the command itself: bad arguments say what is wrong") {
    const std::string cli = std::string(TANDEM_CLI);
    const auto fails_with = [&](const std::string& arguments, const std::string& message) {
        const auto [status, text] = run(cli + " " + arguments + " 2>&1 < /dev/null");
        INFO(arguments << "\n" << text);
        CHECK(status != 0);
        CHECK(text.find(message) != std::string::npos);
    };
    fails_with("forward --model /nonexistent --out /tmp/x", "give --input-ids, --pixel-values or both");
    fails_with("forward --model /nonexistent --input-ids a.npy --loss triplet --out /tmp/x",
               "--loss: triplet not in {clip,siglip,bce,ce}");
    fails_with("forward --model /nonexistent --input-ids a.npy --loss bce --out /tmp/x",
               "--labels goes with --loss bce or ce");
    fails_with("forward --input-ids a.npy --out /tmp/x", "--model is required");
    fails_with("forward --model /nonexistent --input-ids a.npy --grads --out /tmp/x", "--grads needs --loss");
    fails_with("preprocess --config c.json --out /tmp/x.npy", "images is required");
    fails_with("preprocess --config c.json --out /tmp/x.npy --crop-rounding up x.png",
               "--crop-rounding: up not in {floor,round}");
    fails_with("preprocess --config c.json --out /tmp/x.npy --max-pixels -1 x.png",
               "--max-pixels: expected a non-negative integer, found '-1'");
    fails_with("preprocess --config /nonexistent.json --out /tmp/x.npy x.png", "/nonexistent.json");
    fails_with("tokenize --tokenizer x --max-length 0",
               "--max-length: expected a positive integer, found '0'");
    fails_with("tokenize --tokenizer x --max-length 2x",
               "--max-length: expected a positive integer, found '2x'");
    fails_with("tokenize", "--tokenizer is required");
    fails_with("tokenize --tokenizer x --bogus", "The following argument was not expected: --bogus");
    fails_with("tokenize --tokenizer /nonexistent", "tandem tokenize: /nonexistent: cannot open");
    fails_with("encode --model m --out /tmp/x.npy", "give --texts or --images, one of them");
    fails_with("encode --model m --out /tmp/x.npy --texts t.txt --batch-size 0",
               "--batch-size: expected a positive integer, found '0'");
    fails_with("encode --model m --out /tmp/x.npy --texts t.txt --precision int4",
               "--precision: int4 not in {float32,int8,uint8,binary,ubinary}");
    fails_with("encode --model /nonexistent --out /tmp/x.npy --texts t.txt",
               "tandem encode: /nonexistent: no such model folder");
    fails_with("convert --model /nonexistent --out /tmp/x",
               "tandem convert: /nonexistent: no such model folder");
    fails_with("convert --model m", "--out is required");
    fails_with("search --model m --queries q.txt", "give --corpus or --corpus-images, one of them");
    fails_with("search --model m --queries q.txt --corpus c.txt --top-k 0",
               "--top-k: expected a positive integer, found '0'");
    fails_with("mine --model m --data d.txt --out /tmp/x.jsonl",
               "d.txt: expected a .jsonl, .csv or .tsv file");
    fails_with("mine --model m --data d.jsonl --out /tmp/x.jsonl --output-format pairs",
               "--output-format: pairs not in {triplet,n-tuple,labeled-pair,labeled-list}");
    fails_with("demo fashion-mnist --out /tmp/x --steps 0",
               "--steps: expected a positive integer, found '0'");
    fails_with("evaluate --embeddings anchors=a.npy --out /tmp/x", "--evaluator is required");
    fails_with("loss --loss CLIPLoss --out /tmp/x", "--embeddings is required");
    fails_with("nope", "tandem: unknown command 'nope'");
    fails_with("", "Subcommands:");

    const auto [status, help] = run(cli + " tokenize --help");
    CHECK(status == 0);
    CHECK(help.find("--max-length") != std::string::npos);
}

TEST_CASE("tandem demo, evaluate and loss --help: every option and what the command writes") {
    const std::pair<std::string, std::vector<std::string>> commands[] = {
        {"demo",
         {"fashion-mnist", "--out", "--steps", "--threads", "--seed", "--data", "--train-size",
          "--batch-size", "DIR/report.html"}},
        {"evaluate",
         {"--evaluator", "--args", "--embeddings", "--model", "--texts", "--images", "--data", "--out",
          "DIR/metrics.json"}},
        {"loss",
         {"--loss", "--args", "--embeddings", "--labels", "--guide", "--param", "--out", "DIR/grad_<i>.npy"}},
    };
    for (const auto& [command, mentions] : commands) {
        const auto [status, help] = run(std::string(TANDEM_CLI) + " " + command + " --help 2>&1");
        INFO(command << " --help\n" << help);
        CHECK(status == 0);
        for (const auto& text : mentions) CHECK_MESSAGE(help.find(text) != std::string::npos, text);
    }
}

TEST_CASE("tandem tokenize: CLIP ids for JSON lines, as the reference file has them") {
    auto dir = tandem::testing::test_data("tokenizers/clip-vit-base-patch32");
    if (!dir) return;
    const auto input = scratch("cli", "tokenize") / "in.jsonl";
    std::ofstream(input) << "\"a photo of a cat\"\n\"<|endoftext|>\"\n";
    const auto [status, text] = run(std::string(TANDEM_CLI) + " tokenize --tokenizer " +
                                    (*dir / "tokenizer.json").string() + " < " + input.string());
    REQUIRE(status == 0);
    // "a photo of a cat": a</w>=320, photo</w>=1125, of</w>=539, a</w>=320, cat</w>=2368 (vocab.json)
    CHECK(text == "[49406,320,1125,539,320,2368,49407]\n[49406,49407,49407]\n");
}

TEST_CASE("tandem preprocess: CLIP pixel values equal the PIL reference") {
    auto image = tandem::testing::test_data("images/coffee.png");
    auto config = tandem::testing::test_data("images/configs/clip_preprocessor_config.json");
    auto reference = tandem::testing::test_data("images/reference/coffee.clip.npy");
    if (!image || !config || !reference) return;
    const auto out = scratch("cli", "preprocess") / "px.npy";
    const auto [status, text] = run(std::string(TANDEM_CLI) + " preprocess --config " + config->string() +
                                    " --out " + out.string() + " " + image->string() + " 2>&1");
    INFO(text);
    REQUIRE(status == 0);
    const auto ours = xt::load_npy<float>(out.string());
    const auto theirs = xt::load_npy<float>(reference->string());
    REQUIRE(ours.size() == theirs.size());
    double worst = 0;
    for (std::size_t i = 0; i < ours.size(); ++i)
        worst = std::max(worst, double(std::abs(ours.data()[i] - theirs.data()[i])));
    // One uint8 level after normalisation by the smallest std.
    CHECK(worst <= 1.0 / 255 / 0.26130258 + 1e-6);
}

TEST_CASE("tandem encode: a sentence-transformers folder's embeddings of a text file") {
    auto dir = tandem::testing::test_data("models/st-bert-tiny");
    if (!dir) return;
    const auto tmp = scratch("cli", "encode");
    write_manifest_texts(*dir, tmp / "texts.txt");
    const auto [status, text] =
        run(std::string(TANDEM_CLI) + " encode --model " + dir->string() + " --texts " +
            (tmp / "texts.txt").string() + " --batch-size 4 --out " + (tmp / "e.npy").string() + " 2>&1");
    INFO(text);
    REQUIRE(status == 0);
    const auto e = xt::load_npy<float>((tmp / "e.npy").string());
    const auto expected = xt::load_npy<float>((*dir / "expected/f32/embeddings.npy").string());
    REQUIRE(e.shape() == expected.shape());
    CHECK(xt::amax(xt::abs(e - expected))() < 1e-5);

    // ubinary: the sign bits of each row, eight to a byte, the first the most significant.
    const auto [packed_status, packed_log] = run(
        std::string(TANDEM_CLI) + " encode --model " + dir->string() + " --texts " +
        (tmp / "texts.txt").string() + " --precision ubinary --out " + (tmp / "b.npy").string() + " 2>&1");
    INFO(packed_log);
    REQUIRE(packed_status == 0);
    const auto bits = xt::load_npy<std::uint8_t>((tmp / "b.npy").string());
    REQUIRE(bits.shape(0) == e.shape(0));
    REQUIRE(bits.shape(1) * 8 == e.shape(1));
    for (std::size_t i = 0; i < e.shape(0); ++i)
        for (std::size_t j = 0; j < e.shape(1); ++j)
            CHECK(((bits(i, j / 8) >> (7 - j % 8)) & 1) == (e(i, j) > 0 ? 1 : 0));
}

TEST_CASE("tandem convert: the legacy 0_CLIPModel folder rewritten in the v6 layout encodes the same") {
    auto dir = tandem::testing::test_data("models/st-clip-tiny");
    if (!dir) return;
    const auto tmp = scratch("cli", "convert");
    const auto [status, text] = run(std::string(TANDEM_CLI) + " convert --model " + dir->string() +
                                    " --out " + (tmp / "v6").string() + " 2>&1");
    INFO(text);
    REQUIRE(status == 0);
    CHECK(std::filesystem::exists(tmp / "v6/processor_config.json"));
    write_manifest_texts(*dir, tmp / "texts.txt");
    const auto [encoded, log] =
        run(std::string(TANDEM_CLI) + " encode --model " + (tmp / "v6").string() + " --texts " +
            (tmp / "texts.txt").string() + " --out " + (tmp / "e.npy").string() + " 2>&1");
    INFO(log);
    REQUIRE(encoded == 0);
    const auto e = xt::load_npy<float>((tmp / "e.npy").string());
    const auto expected = xt::load_npy<float>((*dir / "expected/f32/text_embeddings.npy").string());
    REQUIRE(e.shape() == expected.shape());
    CHECK(xt::amax(xt::abs(e - expected))() < 1e-5);
}

TEST_CASE("tandem search: each query's best corpus texts by cosine, as JSON lines") {
    auto dir = tandem::testing::test_data("models/st-bert-tiny");
    if (!dir) return;
    const auto tmp = scratch("cli", "search");
    const auto texts = write_manifest_texts(*dir, tmp / "corpus.txt");
    std::ofstream(tmp / "queries.txt") << texts[1] << "\n" << texts[4] << "\n";
    const auto [status, out] = run(std::string(TANDEM_CLI) + " search --model " + dir->string() +
                                   " --queries " + (tmp / "queries.txt").string() + " --corpus " +
                                   (tmp / "corpus.txt").string() + " --top-k 3 --jsonl");
    INFO(out);
    REQUIRE(status == 0);
    // The folder's embeddings are unit rows, so cosine is their dot product, here in double.
    const auto e = xt::load_npy<float>((*dir / "expected/f32/embeddings.npy").string());
    const auto cosine = [&](std::size_t a, std::size_t b) {
        double dot = 0;
        for (std::size_t k = 0; k < e.shape(1); ++k) dot += double(e(a, k)) * e(b, k);
        return dot;
    };
    std::istringstream lines(out);
    std::string line;
    for (const std::size_t query : {1, 4}) {
        REQUIRE(std::getline(lines, line));
        const auto j = nlohmann::json::parse(line);
        CHECK(j["query"] == texts[query]);
        REQUIRE(j["hits"].size() == 3);
        CHECK(j["hits"][0]["corpus_id"] == query);
        double previous = 2;
        for (const auto& hit : j["hits"]) {
            const auto id = hit["corpus_id"].get<std::size_t>();
            CHECK(hit["corpus"] == texts[id]);
            CHECK(hit["score"].get<double>() == doctest::Approx(cosine(query, id)).epsilon(1e-5));
            CHECK(hit["score"].get<double>() <= previous);
            previous = hit["score"].get<double>();
        }
        // No corpus entry left out scores above the last hit.
        for (std::size_t id = 0; id < texts.size(); ++id) {
            bool listed = false;
            for (const auto& hit : j["hits"]) listed = listed || hit["corpus_id"] == id;
            if (!listed) CHECK(cosine(query, id) <= previous + 1e-6);
        }
    }

    // The corpus encoded beforehand and streamed from its .npy file gives the same lines.
    REQUIRE(run(std::string(TANDEM_CLI) + " encode --model " + dir->string() + " --texts " +
                (tmp / "corpus.txt").string() + " --out " + (tmp / "corpus.npy").string())
                .first == 0);
    const auto [streamed_status, streamed] =
        run(std::string(TANDEM_CLI) + " search --model " + dir->string() + " --queries " +
            (tmp / "queries.txt").string() + " --corpus " + (tmp / "corpus.txt").string() +
            " --corpus-embeddings " + (tmp / "corpus.npy").string() + " --top-k 3 --jsonl");
    CHECK(streamed_status == 0);
    CHECK(streamed == out);
}

namespace {
// Scores to 1e-5 (tandem's embeddings match sentence-transformers' to that), all else exactly.
void check_same_json(const nlohmann::json& ours, const nlohmann::json& theirs) {
    if (theirs.is_number_float()) {
        CHECK(ours.get<double>() == doctest::Approx(theirs.get<double>()).epsilon(1e-5));
    } else if (theirs.is_array()) {
        REQUIRE(ours.is_array());
        REQUIRE(ours.size() == theirs.size());
        for (std::size_t i = 0; i < theirs.size(); ++i) check_same_json(ours[i], theirs[i]);
    } else {
        CHECK(ours == theirs);
    }
}
}  // namespace

TEST_CASE("tandem mine: the rows sentence-transformers' mine_hard_negatives gives, as JSON lines") {
    auto dir = tandem::testing::test_data("models/st-bert-tiny");
    if (!dir) return;
    const auto tmp = scratch("cli", "mine");
    std::ifstream in(std::filesystem::path(TANDEM_SOURCE_ROOT) / "tests/infer/data/mine/mine_reference.json");
    const auto reference = nlohmann::json::parse(in);
    const auto columns = reference["columns"];
    {
        std::ofstream data(tmp / "pairs.jsonl");
        for (const auto& pair : reference["pairs"])
            data << nlohmann::ordered_json{{columns[0], pair[0]}, {columns[1], pair[1]}}.dump() << "\n";
        std::ofstream corpus(tmp / "corpus.txt");
        for (const auto& text : reference["extra_corpus"]) corpus << text.get<std::string>() << "\n";
    }
    for (const auto& c : reference["cases"]) {
        const std::string name = c["name"];
        INFO(name);
        std::string flags = name == "extra_corpus" ? " --corpus " + (tmp / "corpus.txt").string() : "";
        for (const auto& [key, value] : c["options"].items()) {
            if (key == "as_triplets") {
                flags += value.get<bool>() ? "" : " --output-format n-tuple";
                continue;
            }
            std::string flag = key == "anchor_column_name"     ? "anchor-column"
                               : key == "positive_column_name" ? "positive-column"
                                                               : key;
            std::replace(flag.begin(), flag.end(), '_', '-');
            if (value.is_boolean())
                flags += value.get<bool>() ? " --" + flag : "";
            else
                flags += " --" + flag + " " + (value.is_string() ? value.get<std::string>() : value.dump());
        }
        const auto out = tmp / (name + ".jsonl");
        const auto [status, log] =
            run(std::string(TANDEM_CLI) + " mine --model " + dir->string() + " --data " +
                (tmp / "pairs.jsonl").string() + " --out " + out.string() + flags + " 2>&1");
        INFO(flags << "\n" << log);
        REQUIRE(status == 0);
        std::ifstream lines(out);
        std::vector<nlohmann::json> rows;
        std::vector<std::vector<std::string>> keys;
        for (std::string line; std::getline(lines, line);) {
            rows.push_back(nlohmann::json::parse(line));
            keys.emplace_back();
            const auto ordered = nlohmann::ordered_json::parse(line);
            for (const auto& [key, value] : ordered.items()) keys.back().push_back(key);
        }
        REQUIRE(rows.size() == c["rows"].size());
        for (std::size_t r = 0; r < rows.size(); ++r) {
            CHECK(keys[r] == c["columns"].get<std::vector<std::string>>());
            for (const auto& key : c["columns"])
                check_same_json(rows[r][key.get<std::string>()], c["rows"][r][key.get<std::string>()]);
        }
    }
}
