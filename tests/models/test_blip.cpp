// BlipForImageTextRetrieval and BlipImageProcessor against shared/data/models/blip-tiny-itm,
// made by transformers 4.36: the processed images, the vision tower, the text encoder with
// and without cross-attention, the ITM logits and the ITC cosine matrix, both losses and
// the gradient of every parameter under each, in double and float, within the manifest's
// bounds; a checkpoint round trip, config defaults and config errors.
#include <tandem/models/blip.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/image/processor.hpp>

#include "error_message.hpp"
#include "parity.hpp"
#include "test_data.hpp"

#include <xtensor/xnpy.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace tandem;

namespace {

// The values of a reference .npy, float32 or float64 as its folder says.
std::vector<double> reference_values(const std::filesystem::path& npy) {
    if (npy.parent_path().filename() == "f32") {
        const auto a = xt::load_npy<float>(npy.string());
        return {a.begin(), a.end()};
    }
    const auto a = xt::load_npy<double>(npy.string());
    return {a.begin(), a.end()};
}

template <class T>
double max_abs_error(const Tensor<Cpu, T>& ours, const std::filesystem::path& npy) {
    const auto ref = reference_values(npy);
    const auto v = ours.to_vector();
    REQUIRE_MESSAGE(v.size() == ref.size(), npy.string() << ": size " << ref.size() << ", ours " << v.size());
    double worst = 0;
    for (std::size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::abs(double(v[i]) - ref[i]));
    return worst;
}

// manifest.json "tolerances": float64 1e-10 on outputs and 1e-12 on losses; float32 per
// output, against the float64 reference (and here also against the float32 one).
double output_tolerance(const std::string& name, bool is_double) {
    if (is_double) return name.starts_with("loss") ? 1e-12 : 1e-10;
    static const std::map<std::string, double> f32{{"vision_last_hidden_state", 2e-5},
                                                   {"itm_text_last_hidden_state", 2e-5},
                                                   {"itm_logits", 1e-5},
                                                   {"itm_match_logit", 1e-5},
                                                   {"itm_match_prob", 1e-6},
                                                   {"loss_itm", 2e-6},
                                                   {"itc_text_last_hidden_state", 2e-5},
                                                   {"itc_image_feat", 5e-6},
                                                   {"itc_text_feat", 5e-6},
                                                   {"itc_similarity", 5e-6},
                                                   {"loss_itc", 2e-5}};
    return f32.at(name);
}

// A tensor's gradient passes within `absolute`, or within `relative` times its largest
// reference |g| (manifest.json "tolerances").
struct GradientBound {
    double absolute, relative;
};

struct GradientReport {
    int compared = 0;
    double worst_absolute = 0, worst_relative = 0;
    std::string worst_absolute_name, worst_relative_name;
};

template <class T>
GradientReport check_gradients(ParameterStore<Cpu, T>& store, const std::filesystem::path& file,
                               GradientBound bound) {
    const auto ref = io::SafetensorsFile::open(file);
    GradientReport report;
    for (const auto& name : ref.names()) {
        REQUIRE_MESSAGE(store.contains(name), "reference gradient for unknown parameter " << name);
        const auto expect = ref.read_as<double>(name);
        const auto ours = store.grad(store.find(name)).to_vector();
        REQUIRE(ours.size() == expect.size());
        double max_abs = 0, max_ref = 0, max_ours = 0;
        for (std::size_t i = 0; i < ours.size(); ++i) {
            max_abs = std::max(max_abs, std::abs(double(ours[i]) - expect[i]));
            max_ref = std::max(max_ref, std::abs(expect[i]));
            max_ours = std::max(max_ours, std::abs(double(ours[i])));
        }
        ++report.compared;
        // Parameters the path does not use are stored as exact zeros and get none here.
        if (max_ref == 0) CHECK_MESSAGE(max_ours == 0, name << " is unused on this path, ours " << max_ours);
        // The analytically-zero key biases hold rounding noise: judged absolutely only.
        const bool zero_reference = max_ref < 1e-12;
        const double relative = zero_reference ? 0 : max_abs / max_ref;
        CHECK_MESSAGE((max_abs <= bound.absolute || (!zero_reference && relative <= bound.relative)),
                      name << ": max |ours - ref| " << max_abs << ", largest |ref| " << max_ref);
        if (max_abs > report.worst_absolute)
            report.worst_absolute = max_abs, report.worst_absolute_name = name;
        if (relative > report.worst_relative)
            report.worst_relative = relative, report.worst_relative_name = name;
    }
    CHECK(tandem::testing::largest_in_unused_embedding_rows(store, file) == 0);
    return report;
}

template <class T>
void check_outputs(const std::map<std::string, Var<Cpu, T>>& outputs, const std::filesystem::path& dir,
                   const std::string& precision) {
    constexpr bool is_double = sizeof(T) == 8;
    // A double run is judged against the float64 reference; a float run against both.
    std::vector<std::string> folders{"f64"};
    if (!is_double) folders.push_back("f32");
    for (const auto& folder : folders) {
        std::string line;
        for (const auto& [name, var] : outputs) {
            const double error = max_abs_error(var.value(), dir / "expected" / folder / (name + ".npy"));
            CHECK_MESSAGE(error <= output_tolerance(name, is_double),
                          name << " vs " << folder << ": " << error);
            line += " " + name + " " + std::to_string(error);
        }
        MESSAGE("blip-tiny-itm (" << precision << " vs expected/" << folder << "): max abs error" << line);
    }
}

template <class T>
void check_blip_tiny(const std::string& precision, GradientBound itm_bound, GradientBound itc_bound) {
    auto dir = tandem::testing::test_data("models/blip-tiny-itm");
    if (!dir) return;
    auto model = BlipForImageTextRetrieval<Cpu, T>::from_pretrained(*dir);
    CHECK(model.load_report().unexpected.empty());
    const auto inputs = *dir / "inputs";
    const auto text = tandem::testing::text_batch_from(inputs, true);
    const auto labels =
        from_xtensor<Cpu, std::int64_t>(xt::load_npy<std::int64_t>((inputs / "itm_labels.npy").string()));
    std::map<std::string, Var<Cpu, T>> outputs;

    auto& store = model.parameters();
    {
        Graph<Cpu, T> g;
        const auto pixels = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "pixel_values.npy"));
        const auto itm = model.forward(g, text, pixels, true);
        const auto match = itm_match_logit(itm.itm_score);
        const auto loss = cross_entropy(itm.itm_score, labels);
        outputs = {{"vision_last_hidden_state", itm.vision_last_hidden_state},
                   {"itm_text_last_hidden_state", itm.question_embeds},
                   {"itm_logits", itm.itm_score},
                   {"itm_match_logit", match},
                   {"itm_match_prob", sigmoid(match)},
                   {"loss_itm", loss}};
        // The manifest's check: BCE on the match logit is the same loss.
        const auto bce = binary_cross_entropy_with_logits(
            match, g.input(Tensor<Cpu, T>::from_vector({1, 0, 1, 0}, {text.batch()})));
        CHECK(std::abs(double(bce.value().to_vector()[0] - loss.value().to_vector()[0])) < 1e-6);
        g.backward(loss);
        const auto grads = check_gradients(store, *dir / "grads_itm.safetensors", itm_bound);
        CHECK(grads.compared == 92);
        MESSAGE("blip-tiny-itm (" << precision << ", ITM): worst gradient abs error " << grads.worst_absolute
                                  << " (" << grads.worst_absolute_name << "), worst relative to max |g| "
                                  << grads.worst_relative << " (" << grads.worst_relative_name << ")");
    }
    store.zero_grad();
    {
        Graph<Cpu, T> g;
        const auto pixels = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "pixel_values.npy"));
        const auto itc = model.forward(g, text, pixels, false);
        // Symmetric InfoNCE at sentence-transformers' scale 20, outside the model as in the manifest.
        const auto scores = scale(itc.itm_score, T(20));
        const auto targets = arange<Cpu>(text.batch());
        const auto loss = scale(
            add(cross_entropy(scores, targets), cross_entropy(permute(scores, {1, 0}), targets)), T(0.5));
        CHECK(itc.vision_last_hidden_state.value().to_vector() ==
              outputs.at("vision_last_hidden_state").value().to_vector());
        outputs.insert({{"itc_text_last_hidden_state", itc.question_embeds},
                        {"itc_image_feat", itc.image_feat},
                        {"itc_text_feat", itc.text_feat},
                        {"itc_similarity", itc.itm_score},
                        {"loss_itc", loss}});
        g.backward(loss);
        const auto grads = check_gradients(store, *dir / "grads_itc.safetensors", itc_bound);
        CHECK(grads.compared == 92);
        MESSAGE("blip-tiny-itm (" << precision << ", ITC): worst gradient abs error " << grads.worst_absolute
                                  << " (" << grads.worst_absolute_name << "), worst relative to max |g| "
                                  << grads.worst_relative << " (" << grads.worst_relative_name << ")");
        // The bi-encoder entry points give the same normalised features.
        Graph<Cpu, T> again;
        CHECK(model.encode_image(again, again.input(pixels.value())).value().to_vector() ==
              itc.image_feat.value().to_vector());
        CHECK(model.encode_text(again, text).value().to_vector() == itc.text_feat.value().to_vector());
    }
    check_outputs(outputs, *dir, precision);
}

io::BlipConfig modelled_fields(io::BlipConfig c) {
    c.extra = c.text_config.extra = c.vision_config.extra = nlohmann::json::object();
    return c;
}

}  // namespace

TEST_CASE("BlipImageProcessor gives transformers' pixel_values for blip-tiny-itm") {
    auto dir = tandem::testing::test_data("models/blip-tiny-itm");
    auto images = tandem::testing::test_data("images");
    if (!dir || !images) return;
    const auto processor = image::ImageProcessor::from_file(*dir / "preprocessor_config.json");
    CHECK(processor.image_processor_type == "BlipImageProcessor");
    CHECK(processor.size_height == 32);
    CHECK(processor.size_width == 32);
    CHECK(!processor.do_center_crop);
    // The manifest's images, camera_gray.png a grey one.
    std::vector<std::filesystem::path> files;
    for (const char* name : {"astronaut.png", "chelsea.png", "coffee_tiny_17x9.png", "camera_gray.png"})
        files.push_back(*images / name);
    const auto out = processor.preprocess_files(files);
    const auto want = xt::load_npy<float>((*dir / "inputs" / "pixel_values.npy").string());
    REQUIRE(std::vector<std::size_t>(out.shape().begin(), out.shape().end()) ==
            std::vector<std::size_t>(want.shape().begin(), want.shape().end()));
    float worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i)
        worst = std::max(worst, std::abs(out.data()[i] - want.data()[i]));
    MESSAGE("BlipImageProcessor: max abs difference from transformers' pixel_values " << worst);
    // The manifest: equal bit for bit to PIL + numpy.
    CHECK(worst == 0);
}

TEST_CASE(
    "BlipImageProcessor's defaults are transformers': 384 x 384 bicubic, no crop, OpenAI-CLIP mean and std") {
    const auto p =
        image::ImageProcessor::from_json({{"image_processor_type", "BlipImageProcessor"}}, "p.json");
    CHECK(p.size_height == 384);
    CHECK(p.size_width == 384);
    CHECK(!p.do_center_crop);
    CHECK(p.resample == image::Resample::bicubic);
    CHECK(p.normalization.image_mean[0] == 0.48145466f);
    CHECK(p.normalization.image_std[2] == 0.27577711f);
    // An integer size is a square, as get_size_dict(default_to_square=True).
    const auto square = image::ImageProcessor::from_json(
        {{"image_processor_type", "BlipImageProcessor"}, {"size", 64}}, "p.json");
    CHECK(square.size_height == 64);
    CHECK(square.size_width == 64);
    const auto json = p.to_json();
    CHECK(!json.contains("crop_size"));
    CHECK(image::ImageProcessor::from_json(nlohmann::json::parse(json.dump()), "p.json").to_json() == json);
}

TEST_CASE("BlipForImageTextRetrieval in double matches transformers' float64 run of blip-tiny-itm") {
    check_blip_tiny<double>("f64", {1e-10, 0}, {1e-10, 0});
}

TEST_CASE(
    "BlipForImageTextRetrieval in float matches transformers on blip-tiny-itm within the manifest's bounds") {
    check_blip_tiny<float>("f32", {5e-6, 5e-5}, {1e-4, 2e-5});
}

TEST_CASE("BlipForImageTextRetrieval's match_logits is the ITM logit difference") {
    auto dir = tandem::testing::test_data("models/blip-tiny-itm");
    if (!dir) return;
    auto model = BlipForImageTextRetrieval<Cpu, double>::from_pretrained(*dir);
    Graph<Cpu, double> g;
    const auto text = tandem::testing::text_batch_from(*dir / "inputs", true);
    const auto pixels =
        g.input(tandem::testing::tensor_from_npy<Cpu, double>(*dir / "inputs" / "pixel_values.npy"));
    CHECK(max_abs_error(model.match_logits(g, text, pixels).value(),
                        *dir / "expected" / "f64" / "itm_match_logit.npy") < 1e-10);
}

TEST_CASE("BlipForImageTextRetrieval round-trips bit for bit") {
    tandem::testing::check_round_trip<BlipForImageTextRetrieval<Cpu, float>>("blip-tiny-itm");
}

TEST_CASE("BlipConfig reads config.json and config_full.json to the same values, with HF's defaults") {
    auto dir = tandem::testing::test_data("models/blip-tiny-itm");
    if (!dir) return;
    const auto diff = io::BlipConfig::from_file(*dir / "config.json");
    const auto full = io::BlipConfig::from_file(*dir / "config_full.json");
    CHECK(modelled_fields(diff) == modelled_fields(full));
    CHECK(diff.architectures == std::vector<std::string>{"BlipForImageTextRetrieval"});
    CHECK(diff.image_text_hidden_size == 16);
    CHECK(diff.text_config.encoder_hidden_size == 24);
    CHECK(diff.text_config.pad_token_id == 0);
    CHECK(diff.text_config.layer_norm_eps == 1e-12);
    CHECK(diff.text_config.is_decoder);
    CHECK(diff.vision_config.layer_norm_eps == 1e-5);
    CHECK(diff.vision_config.initializer_range == 0.2);
    CHECK(diff.vision_config.hidden_act == "gelu");

    // BlipConfig.__init__: the text encoder cross-attends to the vision width whatever the
    // text config says, and initializer_range is 0.02 whatever the file says.
    auto json = io::read_json_file(*dir / "config.json");
    json["text_config"]["encoder_hidden_size"] = 999;
    json["initializer_range"] = 0.5;
    const auto forced = io::BlipConfig::from_json(json, "config.json");
    CHECK(forced.text_config.encoder_hidden_size == 24);
    CHECK(forced.initializer_range == 0.02);
    // Absent towers take every default.
    const auto bare = io::BlipConfig::from_json({{"model_type", "blip"}}, "config.json");
    CHECK(bare.vision_config.image_size == 384);
    CHECK(bare.vision_config.patch_size == 16);
    CHECK(bare.text_config.vocab_size == 30524);
    CHECK(bare.text_config.encoder_hidden_size == 768);
    CHECK(bare.image_text_hidden_size == 256);
}

TEST_CASE("Bad BLIP configs and inputs are errors naming the file, the key and what was found") {
    auto dir = tandem::testing::test_data("models/blip-tiny-itm");
    if (!dir) return;
    const auto base = io::read_json_file(*dir / "config.json");
    auto edited = [&](auto edit) {
        auto json = base;
        edit(json);
        return testing::error_message([&] { io::BlipConfig::from_json(json, "blip/config.json"); });
    };
    CHECK(edited([](auto& j) { j["text_config"]["hidden_size"] = "32"; }) ==
          "blip/config.json: key 'text_config.hidden_size': expected an integer, found string \"32\"");
    CHECK(edited([](auto& j) { j["vision_config"] = 7; }) ==
          "blip/config.json: key 'vision_config': expected a JSON object, found number 7");
    CHECK(edited([](auto& j) { j["model_type"] = "clip"; }) ==
          "blip/config.json: key 'model_type': expected \"blip\", found \"clip\"");
    CHECK(edited([](auto& j) { j["vision_config"]["num_attention_heads"] = 5; }) ==
          "blip/config.json: key 'vision_config.num_attention_heads': hidden_size 24 is not a multiple of 5 "
          "heads");
    CHECK(edited([](auto& j) {
              j["text_config"]["hidden_act"] = "swish";
          }).starts_with("blip/config.json: key 'text_config.hidden_act': expected one of gelu"));

    auto model = BlipForImageTextRetrieval<Cpu, float>::from_pretrained(*dir);
    Graph<Cpu, float> g;
    const auto text = tandem::testing::text_batch_from(*dir / "inputs", true);
    const auto pixels =
        g.input(tandem::testing::tensor_from_npy<Cpu, float>(*dir / "inputs" / "pixel_values.npy"));
    const auto three = slice(pixels, 0, 0, 3);
    CHECK(testing::error_message([&] { model.forward(g, text, three, true); }) ==
          "BlipForImageTextRetrieval: ITM scores text i against image i; found 4 texts and 3 images");
    // ITC scores every image against every text, so the counts may differ.
    CHECK(model.forward(g, text, three, false).itm_score.shape() == Shape{3, 4});

    // is_decoder false builds no cross-attention: ITC still runs, ITM cannot.
    auto json = base;
    json["text_config"]["is_decoder"] = false;
    BlipForImageTextRetrieval<Cpu, float> encoder_only(io::BlipConfig::from_json(json, "config.json"));
    CHECK(detail::parameter_names(encoder_only).size() == 92 - 2 * 10);
    CHECK(testing::error_message([&] {
              encoder_only.forward(g, text, pixels, true);
          }).starts_with("PostLNBlock: given tokens to cross-attend to, but built without cross-attention"));
}
