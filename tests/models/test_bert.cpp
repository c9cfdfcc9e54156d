// BertModel and BertForSequenceClassification against shared/data/models/bert-tiny and
// bert-tiny-cls: outputs, test losses and the gradient of every parameter, computed by
// Hugging Face transformers; checkpoint round trips and checkpoint errors.
#include <tandem/models/bert.hpp>

#include <tandem/backend/cpu.hpp>

#include "parity.hpp"
#include "test_data.hpp"

#include <fstream>

using namespace tandem;
using tandem::testing::largest_in_unused_embedding_rows;
using tandem::testing::relative_error;

namespace {

template <class T>
std::string type_name() {
    return sizeof(T) == 8 ? "double" : "float";
}

template <class T>
void check_gradients(ParameterStore<Cpu, T>& store, const std::filesystem::path& dir, int tensors,
                     double grad_tol) {
    const auto grads = tandem::testing::compare_gradients(store, dir / "grads.safetensors");
    INFO("worst gradient " << grads.worst_name << ": " << grads.worst_relative
                           << ", largest analytically-zero gradient " << grads.worst_absolute_zero);
    MESSAGE(dir.filename().string() << " (" << type_name<T>() << "): worst gradient relative error "
                                    << grads.worst_relative << " (" << grads.worst_name
                                    << "), largest zero-reference gradient " << grads.worst_absolute_zero);
    CHECK(largest_in_unused_embedding_rows(store, dir / "grads.safetensors") == 0);
    CHECK(grads.compared == tensors);
    CHECK(grads.worst_relative < grad_tol);
    CHECK(grads.worst_absolute_zero < grad_tol);
}

template <class T>
void check_bert_tiny(double output_tol, double grad_tol) {
    auto dir = tandem::testing::test_data("models/bert-tiny");
    if (!dir) return;
    auto model = BertModel<Cpu, T>::from_pretrained(*dir);
    CHECK(model.load_report().unexpected.empty());
    const auto inputs = *dir / "inputs";
    const auto expected = *dir / "expected" / "f64";
    Graph<Cpu, T> g;
    const auto text = tandem::testing::text_batch_with_types(inputs);
    auto out = model.forward(g, text);
    auto mean_pooled = pool_mean(g, out.last_hidden_state, text.attention_mask);
    auto probe_mean = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "loss_probe_mean.npy"));
    auto probe_pooler = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "loss_probe_pooler.npy"));
    auto loss = add(sum(mul(mean_pooled, probe_mean)), sum(mul(out.pooler_output, probe_pooler)));

    const double errors[] = {
        relative_error(out.last_hidden_state.value(), expected / "last_hidden_state.npy"),
        relative_error(out.pooler_output.value(), expected / "pooler_output.npy"),
        relative_error(mean_pooled.value(), expected / "mean_pooled.npy"),
        relative_error(loss.value(), expected / "loss.npy"),
    };
    MESSAGE("bert-tiny (" << type_name<T>() << "): relative errors last_hidden_state " << errors[0]
                          << ", pooler_output " << errors[1] << ", mean_pooled " << errors[2] << ", loss "
                          << errors[3]);
    for (double e : errors) CHECK(e < output_tol);

    g.backward(loss);
    check_gradients(model.parameters(), *dir, 39, grad_tol);
}

template <class T>
void check_bert_tiny_cls(double output_tol, double grad_tol) {
    auto dir = tandem::testing::test_data("models/bert-tiny-cls");
    if (!dir) return;
    auto model = BertForSequenceClassification<Cpu, T>::from_pretrained(*dir);
    CHECK(model.load_report().unexpected.empty());
    CHECK(model.load_report().newly_initialized.empty());
    const auto inputs = *dir / "inputs";
    const auto expected = *dir / "expected" / "f64";
    Graph<Cpu, T> g;
    const auto text = tandem::testing::text_batch_with_types(inputs);
    auto out = model.forward(g, text);
    auto labels = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "labels.npy"));
    auto loss = binary_cross_entropy_with_logits(reshape(out.logits, {text.batch()}), labels);

    const double errors[] = {
        relative_error(out.bert.last_hidden_state.value(), expected / "last_hidden_state.npy"),
        relative_error(out.logits.value(), expected / "logits.npy"),
        relative_error(loss.value(), expected / "loss.npy"),
    };
    MESSAGE("bert-tiny-cls (" << type_name<T>() << "): relative errors last_hidden_state " << errors[0]
                              << ", logits " << errors[1] << ", loss " << errors[2]);
    for (double e : errors) CHECK(e < output_tol);

    g.backward(loss);
    check_gradients(model.parameters(), *dir, 41, grad_tol);
}

// Copies `folder` into a temp dir with its weights rewritten by `edit`, which receives
// every tensor as (name, shape, values) and may change or drop them.
template <class Edit>
std::filesystem::path edited_copy(const std::filesystem::path& dir, const std::string& tag, Edit edit) {
    struct Entry {
        std::string name;
        std::vector<std::int64_t> shape;
        std::vector<float> values;
    };
    const auto source = io::SafetensorsFile::open(dir / "model.safetensors");
    std::vector<Entry> entries;
    for (const auto& name : source.names())
        entries.push_back({name, source.info(name).shape, source.read_as<float>(name)});
    edit(entries);
    std::vector<io::TensorToSave> tensors;
    for (const auto& e : entries) tensors.emplace_back(e.name, e.shape, e.values.data());
    const auto out = std::filesystem::temp_directory_path() / ("tandem_bert_" + tag);
    std::filesystem::remove_all(out);
    std::filesystem::create_directories(out);
    std::filesystem::copy_file(dir / "config.json", out / "config.json");
    io::save_safetensors(out / "model.safetensors", tensors, {{"format", "pt"}});
    return out;
}

template <class Model>
std::string load_error(const std::filesystem::path& dir) {
    try {
        Model::from_pretrained(dir);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("BertModel in double matches transformers' float64 run of bert-tiny") {
    check_bert_tiny<double>(1e-10, 1e-9);
}

TEST_CASE("BertModel in float matches transformers on bert-tiny to 1e-5 (outputs) and 1e-4 (gradients)") {
    check_bert_tiny<float>(1e-5, 1e-4);
}

TEST_CASE("BertForSequenceClassification in double matches transformers' float64 run of bert-tiny-cls") {
    check_bert_tiny_cls<double>(1e-10, 1e-9);
}

TEST_CASE("BertForSequenceClassification in float matches transformers on bert-tiny-cls") {
    check_bert_tiny_cls<float>(1e-5, 1e-4);
}

TEST_CASE("BertModel save_pretrained then from_pretrained round-trips bit for bit") {
    tandem::testing::check_round_trip<BertModel<Cpu, float>>("bert-tiny");
}

TEST_CASE("BertForSequenceClassification round-trips bit for bit and keeps the bert. prefix") {
    tandem::testing::check_round_trip<BertForSequenceClassification<Cpu, float>>("bert-tiny-cls");
}

TEST_CASE("BertModel reads a bert.-prefixed classification checkpoint and reports its head") {
    auto dir = tandem::testing::test_data("models/bert-tiny-cls");
    if (!dir) return;
    auto bare = BertModel<Cpu, double>::from_pretrained(*dir);
    auto full = BertForSequenceClassification<Cpu, double>::from_pretrained(*dir);
    CHECK(bare.load_report().unexpected == std::vector<std::string>{"classifier.bias", "classifier.weight"});
    const auto text = tandem::testing::text_batch_with_types(*dir / "inputs");
    Graph<Cpu, double> g;
    CHECK(bare.forward(g, text).pooler_output.value().to_vector() ==
          full.forward(g, text).bert.pooler_output.value().to_vector());
}

TEST_CASE("BertForSequenceClassification on a bare BertModel checkpoint starts a new head") {
    auto dir = tandem::testing::test_data("models/bert-tiny");
    if (!dir) return;
    auto bare = BertModel<Cpu, double>::from_pretrained(*dir);
    auto cls = BertForSequenceClassification<Cpu, double>::from_pretrained(*dir, 5);
    CHECK(cls.load_report().unexpected.empty());
    CHECK(cls.load_report().newly_initialized ==
          std::vector<std::string>{"classifier.weight", "classifier.bias"});
    // bert-tiny's config has the default two labels.
    auto& store = cls.parameters();
    CHECK(store.shape(store.find("classifier.weight")) == Shape{2, 32});
    CHECK(store.value(store.find("classifier.bias")).to_vector() == std::vector<double>{0, 0});
    const auto text = tandem::testing::text_batch_with_types(*dir / "inputs");
    Graph<Cpu, double> g;
    CHECK(bare.forward(g, text).last_hidden_state.value().to_vector() ==
          cls.forward(g, text).bert.last_hidden_state.value().to_vector());
}

TEST_CASE("BERT checkpoints with a mis-shaped or a missing tensor are errors naming it") {
    for (const std::string folder : {"bert-tiny", "bert-tiny-cls"}) {
        auto dir = tandem::testing::test_data("models/" + folder);
        if (!dir) return;
        const std::string prefix = folder == "bert-tiny" ? "" : "bert.";
        const std::string bias = prefix + "encoder.layer.1.attention.self.key.bias";
        const std::string word = prefix + "embeddings.word_embeddings.weight";
        const auto misshaped = edited_copy(*dir, folder + "_misshaped", [&](auto& entries) {
            for (auto& e : entries)
                if (e.name == word) {
                    e.shape[0] -= 1;
                    e.values.resize(e.values.size() - std::size_t(e.shape[1]));
                }
        });
        const auto missing = edited_copy(*dir, folder + "_missing", [&](auto& entries) {
            std::erase_if(entries, [&](const auto& e) { return e.name == bias; });
        });
        for (const auto& [path, name, what] :
             {std::tuple{misshaped, word, std::string("(checkpoint [599, 32], model [600, 32])")},
              std::tuple{missing, bias, std::string("1 missing tensor(s)")}}) {
            const auto message = folder == "bert-tiny"
                                     ? load_error<BertModel<Cpu, float>>(path)
                                     : load_error<BertForSequenceClassification<Cpu, float>>(path);
            MESSAGE(message);
            CHECK(message.find(name) != std::string::npos);
            CHECK(message.find(what) != std::string::npos);
            std::filesystem::remove_all(path);
        }
    }
}
