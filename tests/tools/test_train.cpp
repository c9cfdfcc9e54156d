// `tandem train --config`: the sample configs of examples/train/ run on tiny models and
// data (their keys unchanged but for paths and the length of the run), and bad configs
// fail with a message that names the key.
#include <doctest/doctest.h>

#include <tandem/io/npy.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

const fs::path root = TANDEM_SOURCE_ROOT;
const fs::path shared = tandem::testing::test_data_root();
const fs::path st_bert = shared / "models" / "st-bert-tiny";

// Every file of the shared reference data a test reads; without one it skips, naming it.
bool have(std::initializer_list<const char*> files) {
    for (const char* f : files)
        if (!tandem::testing::test_data(f)) return false;
    return true;
}
const std::initializer_list<const char*> bert_files = {"models/st-bert-tiny/modules.json"};
const std::initializer_list<const char*> image_files = {"images/astronaut.png", "images/chelsea.png",
                                                        "images/coffee.png", "images/camera_gray.png"};

ordered_json read_json(const fs::path& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return ordered_json::parse(in);
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

void write_lines(const fs::path& path, const std::vector<ordered_json>& rows) {
    std::string text;
    for (const auto& r : rows) text += r.dump() + "\n";
    write_text(path, text);
}

const std::vector<std::pair<std::string, std::string>> pairs = {
    {"a red car on the road", "a small red car"},
    {"a cat sleeps on the bed", "the cat is asleep"},
    {"two dogs play in the park", "dogs playing outside"},
    {"a man rides a bike", "a person on a bicycle"},
    {"a bowl of hot soup", "soup in a bowl"},
    {"the sun sets over the sea", "a sunset at the beach"},
    {"a child reads a book", "a kid with a book"},
    {"rain falls on the city", "a rainy day in town"}};

// (anchor, positive) rows of `pairs`.
fs::path write_pairs(const fs::path& dir) {
    std::vector<ordered_json> rows;
    for (const auto& [a, p] : pairs) rows.push_back({{"anchor", a}, {"positive", p}});
    write_lines(dir / "pairs.jsonl", rows);
    return dir / "pairs.jsonl";
}

// The BERT sample on st-bert-tiny and `pairs`, with its evaluator on files in `dir`.
ordered_json bert_config(const fs::path& dir, double learning_rate, int steps) {
    auto c = read_json(root / "examples" / "train" / "bert.json");
    c["model"] = st_bert.string();
    c["train_dataset"]["path"] = write_pairs(dir).string();
    c["args"]["output_dir"] = (dir / "out").string();
    c["args"]["learning_rate"] = learning_rate;
    c["args"]["max_steps"] = steps;
    c["args"]["per_device_train_batch_size"] = 4;
    c["args"]["logging_steps"] = 1;
    c["args"]["eval_steps"] = steps;
    std::string s1, s2;
    for (const auto& [a, p] : pairs) {
        s1 += a + "\n";
        s2 += p + "\n";
    }
    write_text(dir / "s1.txt", s1);
    write_text(dir / "s2.txt", s2);
    c["evaluator"]["texts"] = {{"embeddings1", (dir / "s1.txt").string()},
                               {"embeddings2", (dir / "s2.txt").string()}};
    c["evaluator"]["data"] = {{"scores", {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}}};
    return c;
}

std::pair<int, std::string> train(const fs::path& dir, const ordered_json& config) {
    write_text(dir / "train.json", config.dump(2));
    return run_tandem("train", "--threads 1 --config " + (dir / "train.json").string());
}

std::vector<double> logged_losses(const fs::path& out) {
    std::vector<double> losses;
    const auto state = read_json(out / "trainer_state.json");
    for (const auto& e : state["log_history"])
        if (e.contains("loss")) losses.push_back(e["loss"].get<double>());
    return losses;
}

}  // namespace

TEST_CASE("tandem train: the BERT sample at learning rate 0 saves the model it started from") {
    if (!have(bert_files)) return;
    const auto dir = scratch("train", "bert_lr0");
    const auto [status, output] = train(dir, bert_config(dir, 0.0, 2));
    INFO(output);
    REQUIRE(status == 0);
    const auto texts = dir / "s1.txt";
    for (const auto& [name, model] :
         {std::pair{"before", st_bert}, std::pair{"after", dir / "out" / "final"}})
        REQUIRE(run_tandem("encode", "--model " + model.string() + " --texts " + texts.string() + " --out " +
                                         (dir / (std::string(name) + ".npy")).string())
                    .first == 0);
    const auto before = tandem::io::load_npy<float>(dir / "before.npy");
    const auto after = tandem::io::load_npy<float>(dir / "after.npy");
    REQUIRE(before.shape() == after.shape());
    CHECK(before == after);
    CHECK(fs::exists(dir / "out" / "final" / "modules.json"));
    CHECK(fs::exists(dir / "out" / "final" / "README.md"));
}

TEST_CASE("tandem train: the BERT sample fits its pairs, and the evaluator's metrics are the saved model's") {
    if (!have(bert_files)) return;
    const auto dir = scratch("train", "bert_fit");
    const auto [status, output] = train(dir, bert_config(dir, 1e-3, 30));
    INFO(output);
    REQUIRE(status == 0);
    const auto losses = logged_losses(dir / "out");
    REQUIRE(losses.size() == 30);
    // 30 steps on the same 8 pairs: 2.64 down to 0.75 when this was written.
    CHECK(losses.front() > 1.0);
    CHECK(losses.back() < 0.4 * losses.front());

    const auto metrics = read_json(dir / "out" / "metrics.json");
    CHECK(metrics["global_step"] == 30);
    const double spearman = metrics["eval_sts-dev_spearman_cosine"].get<double>();
    // The same evaluator run by `tandem evaluate` on the saved model.
    write_text(dir / "scores.json",
               ordered_json{{"scores", {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}}}.dump());
    const auto [eval_status, eval_output] = run_tandem(
        "evaluate", "--evaluator EmbeddingSimilarityEvaluator --args '{\"name\": \"sts-dev\"}' --model " +
                        (dir / "out" / "final").string() + " --texts embeddings1=" +
                        (dir / "s1.txt").string() + " --texts embeddings2=" + (dir / "s2.txt").string() +
                        " --data " + (dir / "scores.json").string() + " --out " + (dir / "eval").string());
    INFO(eval_output);
    REQUIRE(eval_status == 0);
    CHECK(read_json(dir / "eval" / "metrics.json")["sts-dev_spearman_cosine"].get<double>() == spearman);

    std::ifstream in(dir / "out" / "report.html");
    REQUIRE(in);
    const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(html.find("training loss") != std::string::npos);
    CHECK(html.find("eval_sts-dev_spearman_cosine") != std::string::npos);
}

TEST_CASE("tandem train: the CLIP sample trains a CLIPModel from scratch and saves it") {
    if (!have(image_files) || !have({"tokenizers/clip-vit-base-patch32/tokenizer.json"})) return;
    const auto dir = scratch("train", "clip");
    auto c = read_json(root / "examples" / "train" / "clip.json");
    c["model"]["tokenizer"] = (shared / "tokenizers" / "clip-vit-base-patch32" / "tokenizer.json").string();
    std::vector<ordered_json> rows;
    const std::vector<std::string> images = {"astronaut.png", "chelsea.png", "coffee.png", "camera_gray.png"};
    for (std::size_t i = 0; i < images.size(); ++i)
        rows.push_back({{"caption", "a photo of " + pairs[i].second},
                        {"image", (shared / "images" / images[i]).string()}});
    write_lines(dir / "captions.jsonl", rows);
    c["train_dataset"]["path"] = (dir / "captions.jsonl").string();
    c["args"]["output_dir"] = (dir / "out").string();
    c["args"]["max_steps"] = 2;
    c["args"]["per_device_train_batch_size"] = 4;
    c["args"]["logging_steps"] = 1;
    const auto [status, output] = train(dir, c);
    INFO(output);
    REQUIRE(status == 0);
    CHECK(read_json(dir / "out" / "metrics.json")["global_step"] == 2);
    // CLIPLoss over 4 pairs of an untrained model: about ln 4 in each direction.
    const auto losses = logged_losses(dir / "out");
    REQUIRE(losses.size() == 2);
    CHECK(losses[0] == doctest::Approx(std::log(4.0)).epsilon(0.2));
    const auto final_dir = dir / "out" / "final";
    CHECK(read_json(final_dir / "config.json")["architectures"][0] == "CLIPModel");
    const auto [encode_status, encode_output] = run_tandem(
        "encode", "--model " + final_dir.string() + " --images " + (shared / "images" / images[0]).string() +
                      " --out " + (dir / "e.npy").string());
    INFO(encode_output);
    REQUIRE(encode_status == 0);
    CHECK(tandem::io::load_npy<float>(dir / "e.npy").shape(1) == 256);

    c["loss"] = {{"name", "AdaptiveLayerLoss"}, {"args", {{"loss", "MultipleNegativesRankingLoss"}}}};
    const auto [layers_status, layers_output] = train(dir, c);
    CHECK(layers_status == 1);
    CHECK(layers_output.find("CLIPModel: gives no text embeddings per layer") != std::string::npos);
}

TEST_CASE("tandem train: the SigLIP sample fine-tunes a SigLIP folder with eval_loss") {
    if (!have(image_files)) return;
    const auto dir = scratch("train", "siglip");
    auto c = read_json(root / "examples" / "train" / "siglip.json");
    c["model"] = (root / "tests" / "reference" / "fixtures" / "st-siglip-tiny").string();
    std::vector<ordered_json> rows;
    const std::vector<std::string> images = {"astronaut.png", "chelsea.png", "coffee.png", "camera_gray.png"};
    for (std::size_t i = 0; i < images.size(); ++i)
        rows.push_back({{"caption", pairs[i].second}, {"image", (shared / "images" / images[i]).string()}});
    write_lines(dir / "captions.jsonl", rows);
    c["train_dataset"]["path"] = (dir / "captions.jsonl").string();
    c["eval_dataset"]["path"] = (dir / "captions.jsonl").string();
    c["args"]["output_dir"] = (dir / "out").string();
    c["args"]["max_steps"] = 3;
    c["args"]["per_device_train_batch_size"] = 4;
    c["args"]["per_device_eval_batch_size"] = 4;
    c["args"]["eval_steps"] = 3;
    c["args"]["logging_steps"] = 1;
    const auto [status, output] = train(dir, c);
    INFO(output);
    REQUIRE(status == 0);
    const auto metrics = read_json(dir / "out" / "metrics.json");
    CHECK(metrics["global_step"] == 3);
    // eval_loss over the training rows after the last step, logged beside the final training loss.
    bool evaluated = false;
    const auto state = read_json(dir / "out" / "trainer_state.json");
    for (const auto& e : state["log_history"])
        evaluated = evaluated || (e.contains("eval_loss") && e["step"] == 3 &&
                                  std::isfinite(e["eval_loss"].get<double>()));
    CHECK(evaluated);
    CHECK(read_json(dir / "out" / "final" / "config.json")["architectures"][0] == "SiglipModel");
    const auto [encode_status, encode_output] =
        run_tandem("encode", "--model " + (dir / "out" / "final").string() + " --texts " +
                                 (dir / "captions.jsonl").string() + " --out " + (dir / "e.npy").string());
    INFO(encode_output);
    CHECK(encode_status == 0);
}

TEST_CASE("tandem train: a bad config names the key, what was expected and what was found") {
    if (!have(bert_files)) return;
    const auto dir = scratch("train", "bad");
    const auto good = bert_config(dir, 1e-3, 1);
    struct Case {
        const char* what;
        std::function<void(ordered_json&)> change;
        std::vector<std::string> message;
    };
    const std::vector<Case> cases = {
        {"an unknown key",
         [](ordered_json& c) { c["modle"] = "x"; },
         {"train.json: key 'modle'", "unknown key"}},
        {"a missing key",
         [](ordered_json& c) { c.erase("loss"); },
         {"key 'loss'", "required key is missing"}},
        {"a training argument of the wrong type",
         [](ordered_json& c) { c["args"]["learning_rate"] = "fast"; },
         {"learning_rate", "expected a number"}},
        {"an unknown training argument",
         [](ordered_json& c) { c["args"]["lerning_rate"] = 1; },
         {"lerning_rate", "unknown training argument"}},
        {"an unknown loss argument",
         [](ordered_json& c) { c["loss"]["args"]["scal"] = 2; },
         {"key 'loss.args'", "MultipleNegativesRankingLoss has no argument 'scal'"}},
        {"a loss argument of the wrong type",
         [](ordered_json& c) { c["loss"]["args"]["scale"] = "big"; },
         {"key 'loss.args'", "argument 'scale' has the wrong type"}},
        {"an unknown loss",
         [](ordered_json& c) { c["loss"]["name"] = "MultipleNegativeRankingLoss"; },
         {"key 'loss.name'", "unknown loss 'MultipleNegativeRankingLoss'", "CoSENTLoss"}},
        {"a loss the command does not offer",
         [](ordered_json& c) { c["loss"] = "ContrastiveTensionLoss"; },
         {"key 'loss.name'", "second copy of the model"}},
        {"a loss that needs labels, without them",
         [](ordered_json& c) { c["loss"] = "CoSENTLoss"; },
         {"CoSENTLoss", "label column"}},
        {"a missing data file",
         [&](ordered_json& c) { c["train_dataset"]["path"] = (dir / "nope.jsonl").string(); },
         {"nope.jsonl"}},
        {"a data file of an unknown kind",
         [&](ordered_json& c) { c["train_dataset"]["path"] = (dir / "s1.txt").string(); },
         {"key 'train_dataset.path'", "expected a .jsonl, .json, .csv or .tsv file"}},
        {"an unknown column",
         [](ordered_json& c) { c["train_dataset"]["columns"][1] = "query"; },
         {"key 'train_dataset.columns[1]'", "no column 'query'", "'anchor', 'positive'"}},
        {"a missing model folder",
         [&](ordered_json& c) { c["model"] = (dir / "no-model").string(); },
         {"no-model"}},
        {"an architecture that does not train from scratch",
         [](ordered_json& c) {
             c["model"] = {{"architecture", "BertModel"}};
         },
         {"key 'model.architecture'", "expected CLIPModel"}},
        {"an evaluator without inputs",
         [](ordered_json& c) { c["evaluator"].erase("texts"); },
         {"key 'evaluator'", "needs \"texts\" or \"images\""}},
    };
    for (const auto& k : cases) {
        CAPTURE(std::string(k.what));
        auto c = good;
        k.change(c);
        const auto [status, output] = train(dir, c);
        CAPTURE(output);
        CHECK(status == 1);
        for (const auto& m : k.message) CHECK(output.find(m) != std::string::npos);
    }
}

TEST_CASE("tandem train: a loss per dataset, GISTEmbedLoss with a guide model, AdaptiveLayerLoss") {
    if (!have(bert_files)) return;
    const auto dir = scratch("train", "dict");
    auto c = bert_config(dir, 1e-3, 4);
    std::vector<ordered_json> scored;
    for (std::size_t i = 0; i < pairs.size(); ++i)
        scored.push_back({{"sentence1", pairs[i].first},
                          {"sentence2", pairs[(i + i % 2) % pairs.size()].second},
                          {"score", i % 2 ? 0.1 : 0.9}});
    write_lines(dir / "scored.jsonl", scored);
    c["train_dataset"] = {{"pairs", c["train_dataset"]}, {"scored", (dir / "scored.jsonl").string()}};
    c["loss"] = {{"pairs", c["loss"]}, {"scored", {{"name", "CoSENTLoss"}, {"args", {{"scale", 20.0}}}}}};
    c["args"]["multi_dataset_batch_sampler"] = "round_robin";
    {
        const auto [status, output] = train(dir, c);
        INFO(output);
        REQUIRE(status == 0);
        CHECK(logged_losses(dir / "out").size() == 4);
    }
    auto g = bert_config(dir, 1e-3, 2);
    g["loss"] = {{"name", "GISTEmbedLoss"}, {"args", {{"guide", st_bert.string()}, {"temperature", 0.05}}}};
    const auto [status, output] = train(dir, g);
    INFO(output);
    REQUIRE(status == 0);
    CHECK(logged_losses(dir / "out").size() == 2);

    auto layers = bert_config(dir, 1e-3, 2);
    layers["loss"] = {{"name", "AdaptiveLayerLoss"},
                      {"args", {{"loss", "MultipleNegativesRankingLoss"}, {"n_layers_per_step", 1}}}};
    const auto [layers_status, layers_output] = train(dir, layers);
    INFO(layers_output);
    REQUIRE(layers_status == 0);
    CHECK(logged_losses(dir / "out").size() == 2);
}
