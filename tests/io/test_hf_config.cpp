#include <tandem/io/hf_config.hpp>

#include "error_message.hpp"
#include "temp_dir.hpp"
#include "test_data.hpp"

#include <doctest/doctest.h>

#include <string>

using tandem::io::BertConfig;
using tandem::io::CLIPConfig;
using tandem::io::CLIPTextConfig;
using tandem::io::CLIPVisionConfig;
using tandem::io::SiglipConfig;
using tandem::io::SiglipTextConfig;
using tandem::io::SiglipVisionConfig;
using tandem::testing::error_message;
using tandem::testing::TempDir;
using tandem::testing::write_bytes;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The modelled fields only: config.json and config_full.json differ in the keys
// transformers writes for generation and bookkeeping, which `extra` keeps.
template <class Config>
Config modelled(Config c) {
    c.extra = nlohmann::json::object();
    if constexpr (requires { c.text_config; }) {
        c.text_config.extra = nlohmann::json::object();
        c.vision_config.extra = nlohmann::json::object();
    }
    return c;
}

template <class Config>
void check_defaults_match_full_config(const std::string& folder) {
    const auto diff = tandem::testing::test_data("models/" + folder + "/config.json");
    const auto full = tandem::testing::test_data("models/" + folder + "/config_full.json");
    if (!diff || !full) return;
    const auto from_diff = Config::from_file(*diff);
    const auto from_full = Config::from_file(*full);
    CHECK(modelled(from_diff) == modelled(from_full));
    // Everything read is written back: config_full.json survives a round trip exactly.
    CHECK(from_full.to_json() == tandem::io::read_json_file(*full));
    CHECK(Config::from_json(from_diff.to_json()) == from_diff);
}

}  // namespace

TEST_CASE("config.json with transformers' defaults equals config_full.json") {
    check_defaults_match_full_config<CLIPConfig>("clip-tiny");
    check_defaults_match_full_config<SiglipConfig>("siglip-tiny");
    check_defaults_match_full_config<BertConfig>("bert-tiny");
    check_defaults_match_full_config<BertConfig>("bert-tiny-cls");
}

TEST_CASE("clip-tiny's config has the sizes of the reference model") {
    const auto path = tandem::testing::test_data("models/clip-tiny/config.json");
    if (!path) return;
    const auto c = CLIPConfig::from_file(*path);
    CHECK(c.architectures == std::vector<std::string>{"CLIPModel"});
    CHECK(c.projection_dim == 16);
    CHECK(c.logit_scale_init_value == 2.6592);
    CHECK(c.text_config.vocab_size == 512);
    CHECK(c.text_config.hidden_size == 64);
    CHECK(c.text_config.intermediate_size == 256);
    CHECK(c.text_config.num_hidden_layers == 2);
    CHECK(c.text_config.num_attention_heads == 4);
    CHECK(c.text_config.max_position_embeddings == 12);
    CHECK(c.text_config.hidden_act == "quick_gelu");
    CHECK(c.text_config.layer_norm_eps == 1e-5);
    CHECK(c.text_config.eos_token_id == 2);
    CHECK(c.text_config.bos_token_id == 1);
    CHECK(c.text_config.pad_token_id == 1);
    CHECK(c.vision_config.hidden_size == 40);
    CHECK(c.vision_config.image_size == 30);
    CHECK(c.vision_config.patch_size == 6);
    CHECK(c.vision_config.num_channels == 3);
    CHECK(c.vision_config.num_patches() == 25);
    CHECK(c.vision_config.intermediate_size == 160);
    // The tower configs also load on their own from the whole config, as in HF.
    CHECK(CLIPTextConfig::from_file(*path) == c.text_config);
    CHECK(CLIPVisionConfig::from_file(*path) == c.vision_config);
}

TEST_CASE("siglip-tiny and bert-tiny configs have the sizes of the reference models") {
    if (const auto path = tandem::testing::test_data("models/siglip-tiny/config.json")) {
        const auto c = SiglipConfig::from_file(*path);
        CHECK(c.text_config.vocab_size == 300);
        CHECK(c.text_config.max_position_embeddings == 10);
        CHECK(c.text_config.hidden_act == "gelu_pytorch_tanh");
        CHECK(c.text_config.layer_norm_eps == 1e-6);
        CHECK(c.text_config.eos_token_id == 1);
        CHECK(c.text_config.pad_token_id == 1);
        CHECK(!c.text_config.bos_token_id);  // explicitly null in the file
        CHECK(c.text_config.head_size() == 32);
        CHECK(c.vision_config.image_size == 24);
        CHECK(c.vision_config.patch_size == 6);
        CHECK(c.vision_config.num_patches() == 16);
        CHECK(c.vision_config.vision_use_head);
        CHECK(SiglipTextConfig::from_file(*path) == c.text_config);
        CHECK(SiglipVisionConfig::from_file(*path) == c.vision_config);
    }
    if (const auto path = tandem::testing::test_data("models/bert-tiny/config.json")) {
        const auto c = BertConfig::from_file(*path);
        CHECK(c.vocab_size == 600);
        CHECK(c.hidden_size == 32);
        CHECK(c.type_vocab_size == 2);
        CHECK(c.max_position_embeddings == 40);
        CHECK(c.layer_norm_eps == 1e-12);
        CHECK(c.hidden_act == "gelu");
        CHECK(c.num_labels() == 2);
        CHECK(!c.classifier_dropout);
    }
    if (const auto path = tandem::testing::test_data("models/bert-tiny-cls/config.json")) {
        const auto c = BertConfig::from_file(*path);
        CHECK(c.architectures == std::vector<std::string>{"BertForSequenceClassification"});
        CHECK(c.num_labels() == 1);
    }
}

TEST_CASE("an empty config gets transformers' defaults") {
    const auto clip = CLIPConfig::from_json({{"model_type", "clip"}});
    CHECK(clip.projection_dim == 512);
    CHECK(clip.text_config.vocab_size == 49408);
    CHECK(clip.text_config.eos_token_id == 49407);
    CHECK(clip.text_config.max_position_embeddings == 77);
    CHECK(clip.vision_config.hidden_size == 768);
    CHECK(clip.vision_config.patch_size == 32);
    CHECK(clip.vision_config.num_patches() == 49);
    const auto siglip = SiglipConfig::from_json({{"model_type", "siglip"}});
    CHECK(siglip.text_config.vocab_size == 32000);
    CHECK(siglip.text_config.max_position_embeddings == 64);
    CHECK(siglip.vision_config.patch_size == 16);
    CHECK(siglip.vision_config.layer_norm_eps == 1e-6);
    const auto bert = BertConfig::from_json({{"model_type", "bert"}, {"num_labels", 3}});
    CHECK(bert.vocab_size == 30522);
    CHECK(bert.max_position_embeddings == 512);
    CHECK(bert.id2label.at(2) == "LABEL_2");
}

TEST_CASE("legacy text_config_dict values override text_config") {
    const auto c = CLIPConfig::from_json({{"model_type", "clip"},
                                          {"text_config", {{"hidden_size", 64}}},
                                          {"text_config_dict", {{"hidden_size", 128}}}});
    CHECK(c.text_config.hidden_size == 128);
    CHECK(!c.to_json().contains("text_config_dict"));
}

TEST_CASE("to_json writes a config Hugging Face loads, and from_file reads it back") {
    CLIPConfig c;
    c.projection_dim = 32;
    c.text_config.hidden_size = 128;
    c.text_config.num_attention_heads = 2;
    c.vision_config.image_size = 64;
    const auto json = c.to_json();
    CHECK(json.at("model_type") == "clip");
    CHECK(json.at("architectures") == nlohmann::json::array({"CLIPModel"}));
    CHECK(json.at("text_config").at("model_type") == "clip_text_model");
    CHECK(json.at("vision_config").at("model_type") == "clip_vision_model");
    CHECK(json.at("vision_config").at("image_size") == 64);
    CHECK(json.at("text_config").at("eos_token_id") == 49407);
    TempDir dir;
    tandem::io::write_json_file(dir / "config.json", json);
    CHECK(CLIPConfig::from_file(dir / "config.json") == c);

    BertConfig b;
    b.id2label = {{0, "negative"}, {1, "positive"}};
    const auto bj = b.to_json();
    CHECK(bj.at("id2label").at("1") == "positive");
    CHECK(bj.at("label2id").at("negative") == 0);
    CHECK(bj.at("classifier_dropout").is_null());
    CHECK(BertConfig::from_json(bj) == b);

    SiglipConfig s;
    s.vision_config.vision_use_head = false;
    s.text_config.projection_size = 16;
    CHECK(SiglipConfig::from_json(s.to_json()) == s);
    CHECK(s.to_json().at("architectures") == nlohmann::json::array({"SiglipModel"}));
}

TEST_CASE("missing required keys and wrong types name the file and the key") {
    TempDir dir;
    const auto path = dir / "config.json";
    const auto error_for = [&](const std::string& text, auto load) {
        write_bytes(path, text);
        return error_message([&] { (void)load(path); });
    };
    const auto clip = [](const auto& p) { return CLIPConfig::from_file(p); };
    const auto siglip = [](const auto& p) { return SiglipConfig::from_file(p); };
    const auto bert = [](const auto& p) { return BertConfig::from_file(p); };

    auto msg = error_for(R"({"projection_dim": 16})", clip);
    CHECK(contains(msg, path.string() + ": key 'model_type': required key is missing"));
    msg = error_for(R"({"model_type": "bert"})", clip);
    CHECK(contains(msg, path.string() + ": key 'model_type': expected \"clip\", found \"bert\""));
    msg = error_for(R"({"model_type": "clip", "text_config": {"hidden_size": "64"}})", clip);
    CHECK(contains(
        msg, path.string() + ": key 'text_config.hidden_size': expected an integer, found string \"64\""));
    msg = error_for(R"({"model_type": "clip", "vision_config": {"patch_size": 6.5}})", clip);
    CHECK(contains(msg, "key 'vision_config.patch_size': expected an integer, found number 6.5"));
    msg = error_for(R"({"model_type": "clip", "vision_config": {"model_type": "clip_text_model"}})", clip);
    CHECK(contains(msg, "key 'vision_config.model_type': expected \"clip_vision_model\""));
    msg = error_for(R"({"model_type": "clip", "text_config": [1, 2]})", clip);
    CHECK(contains(msg, path.string() + ": key 'text_config': expected a JSON object, found array"));
    msg = error_for(R"({"model_type": "clip", "text_config": {"hidden_size": 64, "num_attention_heads": 5}})",
                    clip);
    CHECK(
        contains(msg, "key 'text_config.num_attention_heads': hidden_size 64 is not a multiple of 5 heads"));
    msg = error_for(R"({"model_type": "siglip", "text_config": {"hidden_act": 3}})", siglip);
    CHECK(contains(msg, path.string() + ": key 'text_config.hidden_act': expected a string, found number 3"));
    msg = error_for(R"({"model_type": "siglip", "vision_config": {"vision_use_head": "yes"}})", siglip);
    CHECK(contains(msg, "key 'vision_config.vision_use_head': expected a boolean"));
    msg = error_for(R"({"model_type": "bert", "layer_norm_eps": null})", bert);
    CHECK(contains(msg, path.string() + ": key 'layer_norm_eps': expected a number, found null"));
    msg = error_for(R"({"model_type": "bert", "vocab_size": -3})", bert);
    CHECK(contains(msg,
                   "key 'vocab_size': expected an integer from 1 to 4194304 (tandem's limit on vocabulary "
                   "sizes), found -3"));
    msg = error_for(R"({"model_type": "bert", "id2label": {"zero": "A"}})", bert);
    CHECK(contains(msg, "key 'id2label.zero': expected an integer label id"));
    msg = error_for(R"({"model_type": "bert", "position_embedding_type": "relative_key"})", bert);
    CHECK(contains(msg, "key 'position_embedding_type'"));
    msg = error_for(R"({"model_type": "bert",)", bert);
    CHECK(contains(msg, path.string() + ": not valid JSON"));
    msg = error_message([&] { (void)BertConfig::from_file(dir / "absent.json"); });
    CHECK(contains(msg, "absent.json: cannot open"));
}

TEST_CASE("configs are validated in full on load, with the limits on what they may allocate") {
    const auto error_of = [](const std::string& text, auto load) {
        return error_message([&] { (void)load(nlohmann::json::parse(text)); });
    };
    const auto clip = [](const auto& j) { return CLIPConfig::from_json(j, "config.json"); };
    const auto siglip = [](const auto& j) { return SiglipConfig::from_json(j, "config.json"); };
    const auto bert = [](const auto& j) { return BertConfig::from_json(j, "config.json"); };

    // 208 GB of transformer blocks from a 60-byte file.
    CHECK(error_of(R"({"model_type": "clip", "text_config": {"num_hidden_layers": 1000000000}})", clip) ==
          "config.json: key 'text_config.num_hidden_layers': expected an integer from 1 to 1024 (tandem's "
          "limit "
          "on layers), found 1000000000");
    // Overflowed Shape::numel (signed overflow) when the model was built.
    CHECK(
        error_of(R"({"model_type": "bert", "hidden_size": 1000000000000, "num_attention_heads": 1})", bert) ==
        "config.json: key 'hidden_size': expected an integer from 1 to 65536 (tandem's limit on widths), "
        "found "
        "1000000000000");
    // Ended as a bare "vector::reserve".
    CHECK(error_of(R"({"model_type": "siglip", "vision_config": {"num_hidden_layers": -3}})", siglip) ==
          "config.json: key 'vision_config.num_hidden_layers': expected an integer from 1 to 1024 (tandem's "
          "limit "
          "on layers), found -3");
    // Was accepted.
    CHECK(error_of(R"({"model_type": "bert", "layer_norm_eps": -1})", bert) ==
          "config.json: key 'layer_norm_eps': expected a positive number, found -1");
    CHECK(error_of(R"({"model_type": "clip", "vision_config": {"attention_dropout": 1.0}})", clip) ==
          "config.json: key 'vision_config.attention_dropout': expected a probability in [0, 1), found 1");
    CHECK(error_of(R"({"model_type": "bert", "classifier_dropout": -0.5})", bert) ==
          "config.json: key 'classifier_dropout': expected a probability in [0, 1), found -0.5");
    CHECK(error_of(R"({"model_type": "bert", "hidden_act": "swish"})", bert) ==
          "config.json: key 'hidden_act': expected one of gelu, gelu_new, gelu_fast, gelu_pytorch_tanh, "
          "quick_gelu, relu, tanh; found \"swish\"");
    CHECK(error_of(R"({"model_type": "bert", "num_labels": 1000000000})", bert) ==
          "config.json: key 'num_labels': expected an integer from 1 to 65536 (tandem's limit on labels), "
          "found "
          "1000000000");
    CHECK(
        error_of(R"({"model_type": "clip", "vision_config": {"image_size": 100000}})", clip) ==
        "config.json: key 'vision_config.image_size': expected an integer from 1 to 8192 (tandem's limit on "
        "image sizes), found 100000");
    CHECK(
        error_of(R"({"model_type": "siglip", "text_config": {"vocab_size": 4194305}})", siglip) ==
        "config.json: key 'text_config.vocab_size': expected an integer from 1 to 4194304 (tandem's limit on "
        "vocabulary sizes), found 4194305");
    CHECK(error_of(R"({"model_type": "bert", "initializer_range": -0.02})", bert) ==
          "config.json: key 'initializer_range': expected a number >= 0, found -0.02");
}
