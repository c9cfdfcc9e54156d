// Composition: the Pooling module, towers under a Scope, a BERT tower plus pooling as an
// EncoderTower (against sentence-transformers' own encode of st-bert-tiny), and one
// tower saved and loaded on its own through the public RenamedParameters view.
#include <tandem/models/pooled_tower.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/siglip.hpp>
#include <tandem/nn/sequential.hpp>

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
    CHECK_THROWS_WITH_AS(pooling_mode_from_name("weightedmean"),
                         "pooling_mode: expected one of cls, mean, max, lasttoken; found 'weightedmean'",
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
    // A row of padding only pools position 0, as sentence-transformers' lasttoken does.
    CHECK(pool(PoolingMode::LastToken, Ids<Cpu>::from_vector({0, 0, 0, 1, 0, 0}, {2, 3})) ==
          std::vector<float>{1, 2, -1, 0});
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
