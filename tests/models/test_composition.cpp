// Composition: the Pooling module, towers under a Scope, a BERT tower plus pooling as an
// EncoderTower (against sentence-transformers' own encode of st-bert-tiny), and one
// tower saved and loaded on its own through the public RenamedParameters view.
#include <tandem/models/pooled_tower.hpp>

#include <tandem/models/model_with_store.hpp>
#include <tandem/models/router.hpp>
#include <tandem/models/sentence_transformer_stack.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>
#include <tandem/losses/wrappers.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/siglip.hpp>
#include <tandem/nn/sequential.hpp>
#include <tandem/testing/gradcheck.hpp>
#include <tandem/train/model_encoder.hpp>

#include "error_message.hpp"
#include "parity.hpp"
#include "random.hpp"
#include "temp_dir.hpp"
#include "test_data.hpp"

using namespace tandem;
using tandem::testing::relative_error;
using TF = Tensor<Cpu, float>;
using PoolingF = Pooling<Cpu, float>;

namespace {

template <class M>
std::vector<std::string> names_of(const M& m) {
    std::vector<std::string> names;
    m.for_each_parameter([&](const std::string& n, Parameter) { names.push_back(n); });
    return names;
}

std::vector<std::string> prefixed(const std::string& prefix, std::vector<std::string> names) {
    for (auto& n : names) n = prefix + n;
    return names;
}

io::BertConfig tiny_bert() {
    io::BertConfig c;
    c.vocab_size = 20;
    c.hidden_size = 8;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 2;
    c.intermediate_size = 12;
    c.max_position_embeddings = 6;
    return c;
}

io::CLIPVisionConfig tiny_vision() {
    return {.hidden_size = 8,
            .intermediate_size = 12,
            .projection_dim = 8,
            .num_hidden_layers = 1,
            .num_attention_heads = 2,
            .image_size = 6,
            .patch_size = 3};
}

}  // namespace

TEST_CASE("Pooling: sentence-transformers' modes by name, on a hand-made batch, with and without a mask") {
    static_assert(Layer<PoolingF>);
    CHECK(pooling_mode_from_name("lasttoken") == PoolingMode::LastToken);
    CHECK(pooling_mode_name(PoolingMode::Cls) == "cls");
    CHECK(pooling_mode_from_name("weightedmean") == PoolingMode::WeightedMean);
    CHECK_THROWS_WITH_AS(pooling_mode_from_name("avg"),
                         "pooling_mode: expected one of cls, max, mean, mean_sqrt_len_tokens, weightedmean, "
                         "lasttoken; found 'avg'",
                         Error);
    CHECK(names_of(PoolingF()).empty());

    Graph<Cpu, float> g;
    // x [2, 3, 2]: row 0 tokens (1,2) (3,4) (5,6); row 1 tokens (-1,0) (7,-8) (9,9)
    auto x = g.input(TF::from_vector({1, 2, 3, 4, 5, 6, -1, 0, 7, -8, 9, 9}, {2, 3, 2}), true);
    const auto right = Ids<Cpu>::from_vector({1, 1, 0, 1, 1, 0}, {2, 3});
    const auto left = Ids<Cpu>::from_vector({0, 1, 1, 0, 0, 1}, {2, 3});
    const auto pool = [&](PoolingMode mode, const Ids<Cpu>& mask) {
        return PoolingF(mode).forward(g, x, mask).value().to_vector();
    };
    CHECK(pool(PoolingMode::Cls, right) == std::vector<float>{1, 2, -1, 0});
    CHECK(pool(PoolingMode::Mean, right) == std::vector<float>{2, 3, 3, -4});
    CHECK(pool(PoolingMode::Max, right) == std::vector<float>{3, 4, 7, 0});
    // The last real token: position 1 in both rows when padded on the right, 2 on the left.
    CHECK(pool(PoolingMode::LastToken, right) == std::vector<float>{3, 4, 7, -8});
    CHECK(pool(PoolingMode::LastToken, left) == std::vector<float>{5, 6, 9, 9});
    // A row of padding only pools zeros, as sentence-transformers' lasttoken does.
    CHECK(pool(PoolingMode::LastToken, Ids<Cpu>::from_vector({0, 0, 0, 1, 0, 0}, {2, 3})) ==
          std::vector<float>{0, 0, -1, 0});
    // Without a mask every token counts.
    CHECK(pool(PoolingMode::Mean, {}) == std::vector<float>{3, 4, 5, 1 / 3.0f});
    CHECK(pool(PoolingMode::Max, {}) == std::vector<float>{5, 6, 9, 9});
    CHECK(pool(PoolingMode::LastToken, {}) == std::vector<float>{5, 6, 9, 9});

    // As a Layer it closes a Sequential: a Linear swapping the two features, then max over tokens.
    ParameterStore<Cpu, float> store;
    Sequential net(Linear<Cpu, float>(store, "proj", 2, 2, false), PoolingF(PoolingMode::Max));
    store.value(store.find("proj.weight")).copy_from(TF::from_vector({0, 1, 1, 0}, {2, 2}));
    CHECK(net.forward(g, x).value().to_vector() == std::vector<float>{6, 5, 9, 9});
    CHECK_THROWS_WITH_AS(PoolingF().forward(g, g.input(TF::zeros({2, 2}))),
                         "Pooling: expected states [batch, tokens, dim], found [2, 2]", Error);
}

TEST_CASE("towers under a Scope carry Hugging Face's names below their prefix") {
    {
        ParameterStore<Cpu, float> bare, nested;
        const CLIPVisionModelWithProjection<Cpu, float> tower(bare, tiny_vision(), 4);
        const CLIPVisionModelWithProjection<Cpu, float> inside(nested, tiny_vision(), 4, "clip");
        CHECK(names_of(tower).front() == "vision_model.embeddings.class_embedding");
        CHECK(names_of(tower).back() == "visual_projection.weight");
        CHECK(names_of(inside) == prefixed("clip.", names_of(tower)));
    }
    {
        const io::CLIPTextConfig c{.vocab_size = 20,
                                   .hidden_size = 8,
                                   .intermediate_size = 12,
                                   .num_hidden_layers = 1,
                                   .num_attention_heads = 2,
                                   .max_position_embeddings = 5};
        ParameterStore<Cpu, float> bare, nested;
        const CLIPTextModelWithProjection<Cpu, float> tower(bare, c, 4);
        const CLIPTextModelWithProjection<Cpu, float> inside(nested, c, 4, "clip");
        CHECK(names_of(tower).back() == "text_projection.weight");
        CHECK(names_of(inside) == prefixed("clip.", names_of(tower)));
    }
    {
        io::SiglipTextConfig c;
        c.vocab_size = 20;
        c.hidden_size = 8;
        c.intermediate_size = 12;
        c.num_hidden_layers = 1;
        c.num_attention_heads = 2;
        c.max_position_embeddings = 5;
        ParameterStore<Cpu, float> bare, nested;
        const SiglipTextModel<Cpu, float> tower(bare, c);
        const SiglipTextModel<Cpu, float> inside(nested, c, Scope("siglip"));
        CHECK(names_of(tower).back() == "text_model.head.bias");
        CHECK(names_of(inside) == prefixed("siglip.", names_of(tower)));
    }
    {
        ParameterStore<Cpu, float> bare, nested;
        const BertTower<Cpu, float> tower(bare, Scope(), tiny_bert());
        const BertTower<Cpu, float> inside(nested, Scope("text"), tiny_bert());
        CHECK(names_of(tower).front() == "embeddings.word_embeddings.weight");
        CHECK(names_of(inside) == prefixed("text.", names_of(tower)));
    }
}

TEST_CASE("a BERT tower with mean pooling beside a CLIP image tower in one DualEncoder") {
    using TextTower = PooledTower<BertTower<Cpu, double>>;
    using ImageTower = CLIPVisionModelWithProjection<Cpu, double>;
    static_assert(EncoderTower<BertTower<Cpu, double>, TextBatch<Cpu>>);
    static_assert(EncoderTower<TextTower, TextBatch<Cpu>>);
    ParameterStore<Cpu, double> store;
    DualEncoder<TextTower, ImageTower, TextBatch<Cpu>, Var<Cpu, double>> model(
        store, TextTower(BertTower<Cpu, double>(store, Scope("text"), tiny_bert()), Pooling<Cpu, double>()),
        ImageTower(store, tiny_vision(), 8, "image"));
    const auto names = names_of(model);
    CHECK(names.front() == "text.embeddings.word_embeddings.weight");
    CHECK(std::count_if(names.begin(), names.end(), [](const auto& n) { return n.starts_with("image."); }) ==
          int(names_of(model.image_tower()).size()));
    CHECK(names.back() == "logit_scale");
    model.for_each_parameter([&](const std::string&, Parameter p) { init_normal(store, p, 0.3, 5); });

    // The text embedding is the masked mean of the tower's last_hidden_state.
    const auto text = TextBatch<Cpu>::from_host({2, 5, 7, 3, 2, 9, 3, 0}, 2, 4, {1, 1, 1, 1, 1, 1, 1, 0});
    Graph<Cpu, double> g;
    const auto states = model.text_tower().tower().forward(g, text).last_hidden_state;
    CHECK(model.encode_text(g, text).value().to_vector() ==
          pool_mean(g, states, text.attention_mask).value().to_vector());
    const auto pixels = tandem::testing::random_tensor<Cpu, double>({3, 3, 6, 6}, 2);
    CHECK(model.logits_per_text(g, model.encode_text(g, text), model.encode_image(g, g.input(pixels)))
              .shape() == Shape{2, 3});
}

TEST_CASE(
    "st-bert-tiny: a BERT tower nested under a prefix, loaded and saved through RenamedParameters, "
    "encodes as sentence-transformers does") {
    auto dir = tandem::testing::test_data("models/st-bert-tiny");
    if (!dir) return;
    const auto config = io::BertConfig::from_file(*dir / "config.json");
    ParameterStore<Cpu, double> store;
    const PooledTower<BertTower<Cpu, double>> tower(BertTower<Cpu, double>(store, Scope("text"), config),
                                                    Pooling<Cpu, double>(PoolingMode::Mean));
    // The folder holds a bare BertModel: the tower's "text." names map to the file's bare ones.
    const auto checkpoint = io::SafetensorsCheckpoint::open(*dir);
    CHECK(load_state_dict(RenamedParameters(tower, "text.", ""), store, checkpoint).unexpected.empty());

    Graph<Cpu, double> g;
    const auto text = tandem::testing::text_batch_with_types(*dir / "inputs");
    auto embeddings = tower.encode(g, text);
    const auto expected = *dir / "expected" / "f64";
    CHECK(relative_error(embeddings.value(), expected / "mean_pooled.npy") < 1e-10);
    CHECK(relative_error(l2_normalize(embeddings).value(), expected / "embeddings_normalized.npy") < 1e-10);

    // Saved on its own, the tower is the folder's model.safetensors again, byte for byte.
    tandem::testing::TempDir out("st_bert_tower");
    save_state_dict(parameters_under(tower, "text."), store, out / "model.safetensors");
    CHECK(tandem::testing::file_bytes(out / "model.safetensors") ==
          tandem::testing::file_bytes(*dir / "model.safetensors"));
}

TEST_CASE("BertModel::encode is its pooler_output") {
    BertModel<Cpu, double> model(tiny_bert());
    model.for_each_parameter(
        [&](const std::string&, Parameter p) { init_normal(model.parameters(), p, 0.3, 1); });
    const auto text = TextBatch<Cpu>::from_host({2, 5, 7, 3}, 1, 4);
    Graph<Cpu, double> g;
    CHECK(model.encode(g, text).value().to_vector() ==
          model.forward(g, text).pooler_output.value().to_vector());
}

namespace {

using StackD = SentenceTransformerStack<BertTower<Cpu, double>, Pooling<Cpu, double>, Dense<Cpu, double>,
                                        Normalize<Cpu, double>>;

// BERT + mean Pooling (include_prompt as given) + Dense 8 -> 4 (tanh) + Normalize.
StackD bert_stack(ParameterStore<Cpu, double>& store, const PoolingConfig& pooling,
                  const DenseConfig& dense) {
    return SentenceTransformerStack(BertTower<Cpu, double>(store, Scope("0"), tiny_bert()),
                                    Pooling<Cpu, double>(pooling),
                                    Dense<Cpu, double>(store, Scope("2"), dense), Normalize<Cpu, double>());
}

// The text route: BERT + mean Pooling + Dense to 6; the image route: CLIP's vision tower
// (its projected embedding) + Dense to the same 6.
template <class Store>
auto router_of(Store& store, const PoolingConfig& pooling, const DenseConfig& text_dense,
               const DenseConfig& image_dense) {
    const Scope text("text"), image("image");
    return Router(SentenceTransformerStack(BertTower<Cpu, double>(store, text / 0, tiny_bert()),
                                           Pooling<Cpu, double>(pooling),
                                           Dense<Cpu, double>(store, text / 2, text_dense)),
                  SentenceTransformerStack(
                      CLIPVisionModelWithProjection<Cpu, double>(store, tiny_vision(), 8, image / 0),
                      Dense<Cpu, double>(store, image / 1, image_dense)));
}

template <class M>
void randomise(const M& model) {
    model.for_each_parameter(
        [&](const std::string&, Parameter p) { init_normal(model.parameters(), p, 0.3, 7); });
}

TextBatch<Cpu> padded_text() {
    return TextBatch<Cpu>::from_host({2, 5, 7, 3, 2, 9, 3, 0}, 2, 4, {1, 1, 1, 1, 1, 1, 1, 0});
}

}  // namespace

TEST_CASE("SentenceTransformerStack: BERT + Pooling + Dense + Normalize is an EmbeddingModel") {
    auto model = make_model<Cpu, double>([](auto& store) {
        return bert_stack(store, PoolingConfig{8, {PoolingMode::Mean}, false}, DenseConfig{8, 4});
    });
    using Model = decltype(model);
    static_assert(EmbeddingModel<Model>);
    static_assert(TextEncoderModel<Model> && !ImageEncoderModel<Model>);
    const auto names = names_of(model);
    CHECK(names.front() == "0.embeddings.word_embeddings.weight");
    CHECK(names.back() == "2.linear.bias");
    CHECK(model.model().prefix().empty());
    randomise(model);

    // The stack is the modules applied in turn: the tower's token states pooled without
    // the prompt, projected, normalised.
    auto text = padded_text();
    text.prompt_length = 1;
    Graph<Cpu, double> g;
    const auto& m = model.model();
    const auto states = m.tower().forward(g, text).last_hidden_state;
    const auto pooled = m.get<1>().forward(g, states, text.attention_mask, 1);
    const auto expected = l2_normalize(m.get<2>().forward(g, pooled)).value().to_vector();
    CHECK(model.encode_text(g, text).value().to_vector() == expected);
    CHECK(model.encode_text(g, text).shape() == Shape{2, 4});
    text.prompt_length = 0;
    CHECK(model.encode_text(g, text).value().to_vector() != expected);

    const auto described = m.describe();
    CHECK(described.size() == 4);
    CHECK(described[0]["type"] == "sentence_transformers.base.modules.transformer.Transformer");
    CHECK(described[1]["path"] == "1_Pooling");
    CHECK(described[1]["config"]["include_prompt"] == false);
    CHECK(described[2]["type"] == "sentence_transformers.base.modules.dense.Dense");
    CHECK(described[2]["config"]["out_features"] == 4);
    CHECK(described[3]["path"] == "3_Normalize");

    // Module i's parameters must be named under "i.".
    CHECK(tandem::testing::error_message([] {
              make_model<Cpu, double>([](auto& store) {
                  return SentenceTransformerStack(BertTower<Cpu, double>(store, Scope("0"), tiny_bert()),
                                                  Pooling<Cpu, double>(),
                                                  Dense<Cpu, double>(store, Scope("3"), DenseConfig{8, 4}));
              });
          }) == "SentenceTransformerStack: module 2's parameter '3.linear.weight' is not named under \"2.\"");
}

TEST_CASE("SentenceTransformerStack: saved and rebuilt from its own description, it encodes bit for bit") {
    auto model = make_model<Cpu, double>([](auto& store) {
        return bert_stack(store, PoolingConfig{8, {PoolingMode::Cls, PoolingMode::WeightedMean}, true},
                          DenseConfig{16, 4, false, DenseActivation::GELU});
    });
    randomise(model);
    tandem::testing::TempDir dir("st_stack_save");
    model.save_pretrained(dir.path(), io::SafetensorsDtype::F64);
    const auto described = io::read_json_file(dir / "tandem_modules.json");
    auto again = make_model<Cpu, double>([&](auto& store) {
        return bert_stack(store, io::pooling_config_from_json(described[1]["config"]),
                          io::dense_config_from_json(described[2]["config"]));
    });
    CHECK(again.load_weights(dir.path()).unexpected.empty());
    Graph<Cpu, double> g;
    CHECK(again.encode_text(g, padded_text()).value().to_vector() ==
          model.encode_text(g, padded_text()).value().to_vector());
}

TEST_CASE("Router: a BERT text route and a CLIP image route to one width train as one EmbeddingModel") {
    const PoolingConfig mean{8, {PoolingMode::Mean}, true};
    const DenseConfig text_dense{8, 6}, image_dense{8, 6, true, DenseActivation::Identity};
    auto model =
        make_model<Cpu, double>([&](auto& store) { return router_of(store, mean, text_dense, image_dense); });
    using Model = decltype(model);
    static_assert(EmbeddingModel<Model>);
    static_assert(TextEncoderModel<Model> && ImageEncoderModel<Model>);
    const auto names = names_of(model);
    CHECK(names.front() == "text.0.embeddings.word_embeddings.weight");
    CHECK(names.back() == "image.1.linear.bias");
    CHECK(model.model().image_route().prefix() == "image.");
    randomise(model);

    // A mixed column goes through the trainer's encode_column: texts by the text route,
    // images by the image route, back in row order.
    const auto pixels = tandem::testing::random_tensor<Cpu, float>({3, 3, 6, 6}, 2);
    data::Batch<Cpu>::Input column{"anchor", {0, 3}, {1, 2, 4}, padded_text(), pixels};
    Graph<Cpu, double> g;
    const auto all = encode_column(model, g, column);
    CHECK(all.shape() == Shape{5, 6});
    const auto texts = model.encode_text(g, padded_text()).value().to_vector();
    const auto row = [&](int r) {
        const auto v = all.value().to_vector();
        return std::vector<double>(v.begin() + 6 * r, v.begin() + 6 * r + 6);
    };
    CHECK(row(0) == std::vector<double>(texts.begin(), texts.begin() + 6));
    CHECK(row(3) == std::vector<double>(texts.begin() + 6, texts.end()));

    // Gradients through both routes, of a loss joining them, by finite differences.
    Tensor<Cpu, double> pixels_d = tandem::testing::random_tensor<Cpu, double>({3, 3, 6, 6}, 2);
    const auto weights = tandem::testing::random_tensor<Cpu, double>({2, 3}, 9);
    const auto r = tandem::testing::gradcheck_parameters<Cpu>(
        model.parameters(),
        [&](Graph<Cpu, double>& h) {
            const auto scores = matmul(model.encode_text(h, padded_text()),
                                       model.encode_image(h, h.input(pixels_d)), false, true);
            return sum(mul(tanh(scores), h.input(weights)));
        },
        2);
    CHECK(r.max_relative_error < 1e-6);

    // Saved (in float64, as the model computes): every parameter by name and router_config.json's
    // shape; loaded back, the same numbers.
    tandem::testing::TempDir dir("st_router_save");
    model.save_pretrained(dir.path(), io::SafetensorsDtype::F64);
    const auto described = io::read_json_file(dir / "tandem_modules.json");
    CHECK(described["types"]["text_1_Pooling"] ==
          "sentence_transformers.sentence_transformer.modules.pooling.Pooling");
    CHECK(described["structure"]["image"] == nlohmann::json::array({"image_0_Transformer", "image_1_Dense"}));
    CHECK(described["parameters"]["default_route"] == "text");
    auto again = make_model<Cpu, double>([&](auto& store) {
        return router_of(store, io::pooling_config_from_json(described["configs"]["text_1_Pooling"]),
                         io::dense_config_from_json(described["configs"]["text_2_Dense"]),
                         io::dense_config_from_json(described["configs"]["image_1_Dense"]));
    });
    CHECK(again.load_weights(dir.path()).unexpected.empty());
    Graph<Cpu, double> h;
    CHECK(again.encode_image(h, h.input(pixels_d)).value().to_vector() ==
          model.encode_image(h, h.input(pixels_d)).value().to_vector());
    CHECK(again.encode_text(h, padded_text()).value().to_vector() == texts);

    // Each route's parameters must be named under the route.
    CHECK(tandem::testing::error_message([&] {
              make_model<Cpu, double>([&](auto& store) {
                  return Router(
                      SentenceTransformerStack(BertTower<Cpu, double>(store, Scope("text") / 0, tiny_bert()),
                                               Pooling<Cpu, double>()),
                      SentenceTransformerStack(CLIPVisionModelWithProjection<Cpu, double>(
                          store, tiny_vision(), 8, Scope("img") / 0)));
              });
          }) ==
          "Router: the image route's parameter 'img.0.vision_model.embeddings.class_embedding' is not named "
          "under "
          "\"image.\"");
}

TEST_CASE(
    "SentenceTransformerStack::encode_layers: every hidden state pooled and passed on, gradients to all") {
    auto model = make_model<Cpu, double>([](auto& store) {
        return bert_stack(store, PoolingConfig{8, {PoolingMode::Mean}, true}, DenseConfig{8, 4});
    });
    static_assert(LayerwiseEncoderModel<decltype(model)>);
    randomise(model);
    const auto text = padded_text();
    Graph<Cpu, double> g;
    const auto layers = model.encode_text_layers(g, text);
    // tiny_bert has one layer: the embedding layer's states and that layer's.
    REQUIRE(layers.size() == 2);
    CHECK(layers.back().value().to_vector() == model.encode_text(g, text).value().to_vector());
    const auto& m = model.model();
    const auto states = m.tower().forward(g, text, true).hidden_states;
    const auto first =
        l2_normalize(m.get<2>().forward(g, m.get<1>().forward(g, states[0], text.attention_mask, 0)));
    CHECK(layers[0].value().to_vector() == first.value().to_vector());

    // AdaptiveLayerLoss over the two columns of every layer, by finite differences; without
    // the KL term, whose target (the last layer) the reference holds constant.
    const auto other = TextBatch<Cpu>::from_host({4, 8, 2, 0, 6, 3, 5, 1}, 2, 4, {1, 1, 1, 0, 1, 1, 1, 1});
    const AdaptiveLayerLoss<Cpu, double> loss(
        AnyEmbeddingLoss<Cpu, double>(MultipleNegativesRankingLoss<Cpu, double>()),
        {.n_layers_per_step = -1, .kl_temperature = 0});
    const auto r = tandem::testing::gradcheck_parameters<Cpu>(
        model.parameters(),
        [&](Graph<Cpu, double>& h) {
            const auto a = model.encode_text_layers(h, text), b = model.encode_text_layers(h, other);
            return loss(h, {{a[0], b[0]}, {a[1], b[1]}}, {});
        },
        2);
    CHECK(r.max_relative_error < 1e-6);
}
