// DistilBertModel, RobertaModel, XLMRobertaModel and MPNetModel against the fixtures that
// tests/reference/make_text_tower_fixtures.py made with transformers 5.25: outputs, hidden
// states, a loss over every position (padding included) and the gradient of every
// parameter; checkpoint round trips, config errors, the towers inside a
// SentenceTransformerStack, and each family's tokenizer against the Python one.
#include <tandem/models/distilbert.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/models/mpnet.hpp>
#include <tandem/models/roberta.hpp>
#include <tandem/models/sentence_transformer_stack.hpp>
#include <tandem/text/tokenizer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <concepts>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "error_message.hpp"
#include "parity.hpp"
#include "support/sealed_backend.hpp"
#include "temp_dir.hpp"

using namespace tandem;
using tandem::testing::largest_in_unused_embedding_rows;
using tandem::testing::relative_error;

namespace {

std::filesystem::path fixture(const std::string& name) {
    return std::filesystem::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / name;
}

template <class T>
const char* type_name() {
    return sizeof(T) == 8 ? "double" : "float";
}

// The stacked hidden states [layers + 1, batch, tokens, dim], as the fixture keeps them.
template <Backend B, Scalar T>
Var<B, T> stacked(const std::vector<Var<B, T>>& states) {
    std::vector<Var<B, T>> rows;
    for (const auto& s : states) {
        Shape one{1};
        for (int d = 0; d < s.shape().rank(); ++d) one.push_back(s.shape()[d]);
        rows.push_back(reshape(s, one));
    }
    return concat(rows, 0);
}

// Forward with hidden states, loss = sum(last_hidden_state * probe) (+ sum(pooler_output *
// pooler probe)), backward; every output against the float64 run of transformers and
// every gradient against its float64 gradient.
template <class Model>
void check_parity(const std::string& name, double output_tol, double grad_tol) {
    using B = typename Model::backend_type;
    using T = typename Model::value_type;
    const auto dir = fixture(name);
    auto model = Model::from_pretrained(dir);
    CHECK(model.load_report().unexpected.empty());
    // The visited names are the checkpoint's keys.
    auto names = detail::parameter_names(model);
    std::sort(names.begin(), names.end());
    CHECK(names == io::SafetensorsFile::open(dir / "model.safetensors").names());

    const auto inputs = dir / "inputs", expected = dir / "expected" / "f64";
    const auto text = tandem::testing::text_batch_from<B>(inputs, true);
    Graph<B, T> g;
    const auto out = model.forward(g, text, true);
    auto probe = g.input(tandem::testing::tensor_from_npy<B, T>(inputs / "loss_probe.npy"));
    auto loss = sum(mul(out.last_hidden_state, probe));
    std::vector<std::pair<std::string, double>> errors{
        {"last_hidden_state",
         relative_error(out.last_hidden_state.value(), expected / "last_hidden_state.npy")},
        {"hidden_states", relative_error(stacked(out.hidden_states).value(), expected / "hidden_states.npy")},
        {"mean_pooled", relative_error(pool_mean(g, out.last_hidden_state, text.attention_mask).value(),
                                       expected / "mean_pooled.npy")},
    };
    if constexpr (requires { out.pooler_output; }) {
        auto pooler_probe = g.input(tandem::testing::tensor_from_npy<B, T>(inputs / "loss_probe_pooler.npy"));
        loss = add(loss, sum(mul(out.pooler_output, pooler_probe)));
        errors.emplace_back("pooler_output",
                            relative_error(out.pooler_output.value(), expected / "pooler_output.npy"));
    }
    errors.emplace_back("loss", relative_error(loss.value(), expected / "loss.npy"));
    const std::string run = name + " (" + B::name + ", " + type_name<T>() + ")";
    std::ostringstream report;
    for (const auto& [what, e] : errors) report << " " << what << " " << e;
    MESSAGE(run << ": relative errors" << report.str());
    for (const auto& [what, e] : errors) {
        INFO(what);
        CHECK(e < output_tol);
    }

    g.backward(loss);
    const auto grads_file = dir / "grads_f64.safetensors";
    const auto grads = tandem::testing::compare_gradients(model.parameters(), grads_file);
    MESSAGE(run << ": worst gradient relative error " << grads.worst_relative << " (" << grads.worst_name
                << "), largest zero-reference gradient " << grads.worst_absolute_zero);
    CHECK(grads.compared == static_cast<int>(names.size()));
    CHECK(grads.worst_relative < grad_tol);
    CHECK(grads.worst_absolute_zero < grad_tol);
    CHECK(largest_in_unused_embedding_rows(model.parameters(), grads_file) == 0);
}

// save_pretrained then from_pretrained gives the same config and values, and the weights
// file has the bytes transformers' save_pretrained wrote.
template <class Model>
void check_round_trip(const std::string& name) {
    const auto dir = fixture(name);
    const auto model = Model::from_pretrained(dir);
    tandem::testing::TempDir out(name + "-roundtrip");
    model.save_pretrained(out.path());
    const auto again = Model::from_pretrained(out.path());
    CHECK(again.config() == model.config());
    CHECK(again.config().to_json() == model.config().to_json());
    CHECK(again.parameters().values().to_vector() == model.parameters().values().to_vector());
    CHECK(tandem::testing::read_bytes(out / "model.safetensors") ==
          tandem::testing::read_bytes(dir / "model.safetensors"));
    const auto saved = nlohmann::json::parse(tandem::testing::read_bytes(out / "config.json"));
    CHECK(saved["architectures"] == nlohmann::json::array({Model::architecture}));
}

// The fixture's config.json edited by `edit`, in a folder beside a copy of its weights.
template <class Edit>
std::filesystem::path edited_config(const tandem::testing::TempDir& out, const std::string& name, Edit edit) {
    const auto dir = fixture(name);
    auto config = nlohmann::json::parse(tandem::testing::read_bytes(dir / "config.json"));
    edit(config);
    tandem::testing::write_bytes(out / "config.json", config.dump(2));
    std::filesystem::copy_file(dir / "model.safetensors", out / "model.safetensors");
    return out.path();
}

// A config without model_type, and one with `key` set to `value`, are errors naming the
// file and the key.
template <class Model>
void check_config_errors(const std::string& name, const std::string& key, const nlohmann::json& value,
                         const std::string& what) {
    {
        tandem::testing::TempDir out(name + "-no-model-type");
        const auto folder = edited_config(out, name, [](auto& c) { c.erase("model_type"); });
        const auto message = tandem::testing::error_message([&] { Model::from_pretrained(folder); });
        MESSAGE(message);
        CHECK(message.find((folder / "config.json").string()) != std::string::npos);
        CHECK(message.find("key 'model_type': required key is missing") != std::string::npos);
    }
    tandem::testing::TempDir out(name + "-bad-" + key);
    const auto folder = edited_config(out, name, [&](auto& c) { c[key] = value; });
    const auto message = tandem::testing::error_message([&] { Model::from_pretrained(folder); });
    MESSAGE(message);
    CHECK(message.find((folder / "config.json").string() + ": key '" + key + "'") != std::string::npos);
    CHECK(message.find(what) != std::string::npos);
}

std::vector<std::uint32_t> ids_of(const nlohmann::json& ids) { return ids.get<std::vector<std::uint32_t>>(); }

// tandem's Tokenizer from `folder` gives the Python tokenizer's ids on every case.
void check_tokenizer(const std::string& name, const std::filesystem::path& folder) {
    const auto dir = fixture(name);
    const auto tokenizer = Tokenizer::from_folder(folder);
    const auto cases = nlohmann::json::parse(tandem::testing::read_bytes(dir / "tokenizer_cases.json"));
    for (const auto& c : cases) {
        const auto text = c["text"].get<std::string>();
        INFO(folder.string() << ": " << c.dump());
        const auto encoding = c.contains("pair") ? tokenizer.encode_pair(text, c["pair"].get<std::string>())
                                                 : tokenizer.encode(text);
        CHECK(encoding.ids == ids_of(c["ids"]));
    }
}

// The model's input ids are what the tokenizer made of the texts in manifest.json, padded
// with the config's pad_token_id (the id RoBERTa's and MPNet's positions skip).
void check_tokenized_inputs(const std::string& name) {
    const auto dir = fixture(name);
    const auto tokenizer = Tokenizer::from_folder(dir);
    const auto manifest = nlohmann::json::parse(tandem::testing::read_bytes(dir / "manifest.json"));
    const auto pad = nlohmann::json::parse(tandem::testing::read_bytes(dir / "config.json"))["pad_token_id"];
    const auto ids = xt::load_npy<std::int64_t>((dir / "inputs" / "input_ids.npy").string());
    const auto mask = xt::load_npy<std::int64_t>((dir / "inputs" / "attention_mask.npy").string());
    const auto texts = manifest["texts"].get<std::vector<std::string>>();
    for (std::size_t r = 0; r < texts.size(); ++r) {
        INFO(name << ": " << texts[r]);
        std::vector<std::uint32_t> row;
        for (std::size_t c = 0; c < ids.shape()[1]; ++c) {
            if (mask(r, c))
                row.push_back(static_cast<std::uint32_t>(ids(r, c)));
            else
                CHECK(ids(r, c) == pad.get<std::int64_t>());
        }
        CHECK(tokenizer.encode(texts[r]).ids == row);
    }
}

}  // namespace

TEST_CASE("DistilBertModel matches transformers' float64 run: double to 1e-10 / 1e-9, float to 1e-5 / 1e-4") {
    check_parity<DistilBertModel<Cpu, double>>("distilbert-tiny", 1e-10, 1e-9);
    check_parity<DistilBertModel<Cpu, float>>("distilbert-tiny", 1e-5, 1e-4);
}

TEST_CASE("RobertaModel matches transformers' float64 run: double to 1e-10 / 1e-9, float to 1e-5 / 1e-4") {
    check_parity<RobertaModel<Cpu, double>>("roberta-tiny", 1e-10, 1e-9);
    check_parity<RobertaModel<Cpu, float>>("roberta-tiny", 1e-5, 1e-4);
}

TEST_CASE("XLMRobertaModel matches transformers' float64 run: double to 1e-10 / 1e-9, float to 1e-5 / 1e-4") {
    check_parity<XLMRobertaModel<Cpu, double>>("xlm-roberta-tiny", 1e-10, 1e-9);
    check_parity<XLMRobertaModel<Cpu, float>>("xlm-roberta-tiny", 1e-5, 1e-4);
}

TEST_CASE("MPNetModel matches transformers' float64 run: double to 1e-10 / 1e-9, float to 1e-5 / 1e-4") {
    check_parity<MPNetModel<Cpu, double>>("mpnet-tiny", 1e-10, 1e-9);
    check_parity<MPNetModel<Cpu, float>>("mpnet-tiny", 1e-5, 1e-4);
}

TEST_CASE("the text towers on a backend whose memory host code cannot touch, as on the CPU") {
    using tandem::testing::Sealed;
    check_parity<DistilBertModel<Sealed, float>>("distilbert-tiny", 1e-5, 1e-4);
    check_parity<RobertaModel<Sealed, float>>("roberta-tiny", 1e-5, 1e-4);
    check_parity<MPNetModel<Sealed, double>>("mpnet-tiny", 1e-10, 1e-9);
}

TEST_CASE("MPNet's relative position buckets are transformers' for relative positions -600..600") {
    const auto expected = xt::load_npy<std::int64_t>(
        (fixture("mpnet-tiny") / "expected" / "relative_position_buckets.npy").string());
    // Row 600 of the [1201, 1201] buckets holds key - query = j - 600.
    const auto buckets = detail::mpnet_relative_buckets<Cpu>(1201).to_vector();
    std::vector<std::int64_t> row(buckets.begin() + 600 * 1201, buckets.begin() + 601 * 1201);
    CHECK(row == std::vector<std::int64_t>(expected.begin(), expected.end()));
}

TEST_CASE("the text towers round-trip through save_pretrained bit for bit") {
    check_round_trip<DistilBertModel<Cpu, float>>("distilbert-tiny");
    check_round_trip<RobertaModel<Cpu, float>>("roberta-tiny");
    check_round_trip<XLMRobertaModel<Cpu, float>>("xlm-roberta-tiny");
    check_round_trip<MPNetModel<Cpu, float>>("mpnet-tiny");
}

namespace {
// A config read from transformers' default config (every key) equals the default one: the
// same defaults for every key an absent one stands for. `extra` holds transformers'
// bookkeeping keys; a default config names no class.
template <class Config>
void check_defaults(const std::string& name) {
    auto c = Config::from_file(fixture(name) / "config_defaults.json");
    CHECK(c.architectures.empty());
    c.architectures = Config{}.architectures;
    c.extra = nlohmann::json::object();
    CHECK(c == Config{});
    CHECK(Config::from_json(c.to_json()) == c);
}
}  // namespace

TEST_CASE("the text tower configs default every absent key as transformers 5.25 does") {
    check_defaults<io::DistilBertConfig>("distilbert-tiny");
    check_defaults<io::RobertaConfig>("roberta-tiny");
    check_defaults<io::XLMRobertaConfig>("xlm-roberta-tiny");
    check_defaults<io::MPNetConfig>("mpnet-tiny");
}

TEST_CASE("text tower configs without model_type, or with a bad value, are errors naming file and key") {
    check_config_errors<DistilBertModel<Cpu, float>>("distilbert-tiny", "n_heads", 5,
                                                     "dim 32 is not a multiple of 5 heads");
    check_config_errors<RobertaModel<Cpu, float>>("roberta-tiny", "pad_token_id", nullptr,
                                                  "expected the padding id RoBERTa's positions count from");
    check_config_errors<XLMRobertaModel<Cpu, float>>("xlm-roberta-tiny", "model_type", "roberta",
                                                     "expected \"xlm-roberta\", found \"roberta\"");
    check_config_errors<MPNetModel<Cpu, float>>("mpnet-tiny", "relative_attention_num_buckets", 16,
                                                "(MPNetEncoder uses 32 buckets), found 16");
}

TEST_CASE("RoBERTa positions past the table are an error naming the limit") {
    auto model = RobertaModel<Cpu, float>::from_pretrained(fixture("roberta-tiny"));
    const index_t length = model.config().max_position_embeddings - 1;
    const auto text = TextBatch<Cpu>::from_host(std::vector<std::int64_t>(std::size_t(length), 5), 1, length);
    Graph<Cpu, float> g;
    const auto message = tandem::testing::error_message([&] { model.forward(g, text); });
    CHECK(message ==
          "RobertaModel: sequence length 47 exceeds the 46 positions max_position_embeddings 48 leaves "
          "after padding_idx 1");
}

TEST_CASE("each tower in a SentenceTransformerStack with mean Pooling encodes as sentence-transformers") {
    const auto encode = [](auto make_tower, const std::string& name) {
        const auto dir = fixture(name);
        ParameterStore<Cpu, double> store;
        const auto stack =
            SentenceTransformerStack(make_tower(store, dir), Pooling<Cpu, double>(PoolingMode::Mean));
        using Tower = std::decay_t<decltype(stack.tower())>;
        static_assert(TextStackTower<Tower> && HiddenStateTower<Tower, TextBatch<Cpu>>);
        static_assert(requires(const Tower& t) {
            { Tower::architecture } -> std::convertible_to<const char*>;
            t.config().to_json();
            t.config().hidden_size;
        });
        CHECK(load_state_dict(RenamedParameters(stack, "0.", ""), store, io::SafetensorsCheckpoint::open(dir))
                  .unexpected.empty());
        Graph<Cpu, double> g;
        const auto text = tandem::testing::text_batch_from(dir / "inputs", true);
        const auto embeddings = stack.encode_text(g, text);
        CHECK(relative_error(embeddings.value(), dir / "expected" / "f64" / "mean_pooled.npy") < 1e-10);
        CHECK(stack.tower().config().hidden_size == 32);
    };
    encode(
        [](auto& store, const auto& dir) {
            return DistilBertTower<Cpu, double>(store, Scope("0"),
                                                io::DistilBertConfig::from_file(dir / "config.json"));
        },
        "distilbert-tiny");
    encode(
        [](auto& store, const auto& dir) {
            return RobertaTower<Cpu, double>(store, Scope("0"),
                                             io::RobertaConfig::from_file(dir / "config.json"));
        },
        "roberta-tiny");
    encode(
        [](auto& store, const auto& dir) {
            return XLMRobertaTower<Cpu, double>(store, Scope("0"),
                                                io::XLMRobertaConfig::from_file(dir / "config.json"));
        },
        "xlm-roberta-tiny");
    encode(
        [](auto& store, const auto& dir) {
            return MPNetTower<Cpu, double>(store, Scope("0"),
                                           io::MPNetConfig::from_file(dir / "config.json"));
        },
        "mpnet-tiny");
}

TEST_CASE("each family's tokenizer.json gives the Python tokenizer's ids") {
    for (const std::string name : {"distilbert-tiny", "roberta-tiny", "xlm-roberta-tiny", "mpnet-tiny"}) {
        check_tokenizer(name, fixture(name));
        check_tokenized_inputs(name);
    }
}

TEST_CASE("the older tokenizer files (vocab.txt; vocab.json + merges.txt) give the Python tokenizer's ids") {
    for (const std::string name : {"distilbert-tiny", "roberta-tiny", "mpnet-tiny"})
        check_tokenizer(name, fixture(name) / "legacy_tokenizer");
}
