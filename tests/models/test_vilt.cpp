// ViltForImageAndTextRetrieval and ViltImageProcessor against shared/data/models/vilt-tiny-itm,
// made by transformers: the processed images and masks, the embeddings (patch selection,
// per-image position resize, modality embeddings), the hidden states, the matching logit,
// the BCE loss and the gradient of every parameter; a checkpoint round trip and errors.
#include <tandem/image/vilt_processor.hpp>
#include <tandem/models/vilt.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/image/crop.hpp>

#include "error_message.hpp"
#include "parity.hpp"
#include "test_data.hpp"

#include <xtensor/xnpy.hpp>
#include <xtensor/xview.hpp>

using namespace tandem;
using tandem::testing::relative_error;

namespace {

template <class T>
ViltImages<Cpu, T> images_from(Graph<Cpu, T>& g, const std::filesystem::path& inputs) {
    return {
        g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "pixel_values.npy")),
        from_xtensor<Cpu, std::int64_t>(xt::load_npy<std::int64_t>((inputs / "pixel_mask.npy").string()))};
}

template <class T>
void check_vilt_tiny(const std::string& precision, double output_tol, double grad_tol) {
    auto dir = tandem::testing::test_data("models/vilt-tiny-itm");
    if (!dir) return;
    auto model = ViltForImageAndTextRetrieval<Cpu, T>::from_pretrained(*dir);
    CHECK(model.load_report().unexpected.empty());
    CHECK(model.load_report().newly_initialized.empty());
    const auto inputs = *dir / "inputs";
    Graph<Cpu, T> g;
    const auto text = tandem::testing::text_batch_with_types(inputs);
    auto out = model.forward(g, text, images_from(g, inputs));
    auto labels = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "labels.npy"));
    auto loss = binary_cross_entropy_with_logits(reshape(out.logits, {text.batch()}), labels);

    const auto mask =
        xt::load_npy<std::int64_t>((*dir / "expected" / "f64" / "attention_mask_full.npy").string());
    CHECK(out.vilt.attention_mask.to_vector() == std::vector<std::int64_t>(mask.begin(), mask.end()));
    // Against the float64 reference, in both precisions: a float run is judged by how
    // close it comes to the exact result.
    const auto f64 = *dir / "expected" / "f64";
    const double errors[] = {
        relative_error(out.vilt.embeddings.value(), f64 / "embeddings.npy"),
        relative_error(out.vilt.last_hidden_state.value(), f64 / "last_hidden_state.npy"),
        relative_error(out.vilt.pooler_output.value(), f64 / "pooler_output.npy"),
        relative_error(out.logits.value(), f64 / "logits.npy"),
        relative_error(loss.value(), f64 / "loss.npy"),
    };
    MESSAGE("vilt-tiny-itm (" << precision << "): relative errors embeddings " << errors[0]
                              << ", last_hidden_state " << errors[1] << ", pooler_output " << errors[2]
                              << ", logits " << errors[3] << ", loss " << errors[4]);
    for (double e : errors) CHECK(e < output_tol);

    g.backward(loss);
    const auto grads = tandem::testing::compare_gradients(model.parameters(), *dir / "grads.safetensors");
    MESSAGE("vilt-tiny-itm (" << precision << "): worst gradient relative error " << grads.worst_relative
                              << " (" << grads.worst_name << "), largest zero-reference gradient "
                              << grads.worst_absolute_zero);
    CHECK(grads.compared == 48);
    CHECK(grads.worst_relative < grad_tol);
    CHECK(grads.worst_absolute_zero < grad_tol);
    CHECK(tandem::testing::largest_in_unused_embedding_rows(model.parameters(), *dir / "grads.safetensors") ==
          0);
}

}  // namespace

TEST_CASE("ViltImageProcessor gives transformers' pixel_values and pixel_mask for vilt-tiny-itm") {
    auto dir = tandem::testing::test_data("models/vilt-tiny-itm");
    auto images = tandem::testing::test_data("images");
    if (!dir || !images) return;
    const auto processor = image::ViltImageProcessor::from_file(*dir / "preprocessor_config.json");
    CHECK(processor.shortest_edge == 32);
    CHECK(processor.size_divisor == 8);
    // The manifest's images: three whole, the last chelsea.png cropped to the box (100, 0, 300, 300).
    std::vector<image::ImageU8> batch;
    for (const char* name : {"astronaut.png", "chelsea.png", "coffee_tiny_17x9.png"})
        batch.push_back(image::load_image(*images / name));
    batch.push_back(image::crop(image::load_image(*images / "chelsea.png"), 0, 100, 300, 200));
    const auto out = processor.preprocess(batch);
    const auto want_pixels = xt::load_npy<float>((*dir / "inputs" / "pixel_values.npy").string());
    const auto want_mask = xt::load_npy<std::int64_t>((*dir / "inputs" / "pixel_mask.npy").string());
    REQUIRE(std::vector<std::size_t>(out.pixel_values.shape().begin(), out.pixel_values.shape().end()) ==
            std::vector<std::size_t>(want_pixels.shape().begin(), want_pixels.shape().end()));
    CHECK(std::equal(out.pixel_values.begin(), out.pixel_values.end(), want_pixels.begin()));
    CHECK(std::equal(out.pixel_mask.begin(), out.pixel_mask.end(), want_mask.begin()));
    // The manifest's processed sizes.
    const std::array<std::array<std::size_t, 2>, 4> sizes{{{32, 32}, {32, 48}, {24, 48}, {48, 32}}};
    for (std::size_t i = 0; i < batch.size(); ++i)
        CHECK(processor.resized_size(batch[i].shape()[0], batch[i].shape()[1]) == sizes[i]);
}

TEST_CASE("ViltImageProcessor caps the long side at 1333/800 of the short one and floors to size_divisor") {
    image::ViltImageProcessor p;  // shortest_edge 384, size_divisor 32: long side at most 639
    CHECK(p.resized_size(480, 640) == std::array<std::size_t, 2>{384, 512});
    CHECK(p.resized_size(100, 1000) == std::array<std::size_t, 2>{64, 639 / 32 * 32});
    CHECK(p.resized_size(500, 500) == std::array<std::size_t, 2>{384, 384});
    p.shortest_edge = 8;
    p.size_divisor = 16;
    CHECK(testing::error_message([&] { p.resized_size(10, 10); }) ==
          "ViltImageProcessor: a 10x10 image resizes to 0x0 (size_divisor 16)");
    CHECK(
        testing::error_message([] {
            image::ViltImageProcessor::from_json({{"image_processor_type", "CLIPImageProcessor"}}, "p.json");
        }) ==
        "p.json: key 'image_processor_type': expected ViltImageProcessor, found \"CLIPImageProcessor\"");
}

TEST_CASE("ViltForImageAndTextRetrieval in double matches transformers' float64 run of vilt-tiny-itm") {
    check_vilt_tiny<double>("f64", 1e-12, 1e-10);
}

TEST_CASE("ViltForImageAndTextRetrieval in float matches transformers on vilt-tiny-itm") {
    check_vilt_tiny<float>("f32", 1e-5, 1e-4);
}

TEST_CASE("ViltForImageAndTextRetrieval round-trips bit for bit") {
    tandem::testing::check_round_trip<ViltForImageAndTextRetrieval<Cpu, float>>("vilt-tiny-itm");
}

TEST_CASE("ViLT refuses a config that samples patches and an image without a valid patch") {
    auto dir = tandem::testing::test_data("models/vilt-tiny-itm");
    if (!dir) return;
    auto json = io::read_json_file(*dir / "config.json");
    json["max_image_length"] = 200;
    CHECK(testing::error_message([&] { io::ViltConfig::from_json(json, "config.json"); }) ==
          "config.json: key 'max_image_length': tandem implements -1 (every valid patch; a positive value "
          "samples patches at random), found 200");
    json = io::read_json_file(*dir / "config.json");
    json["modality_type_vocab_size"] = 1;
    CHECK(testing::error_message([&] { io::ViltConfig::from_json(json, "config.json"); }) ==
          "config.json: key 'modality_type_vocab_size': expected an integer from 2 to 1024 (text and image), "
          "found 1");
    // The diff config transformers saves reads as the full one, bar the keys tandem keeps as they are.
    auto diff = io::ViltConfig::from_file(*dir / "config.json");
    auto full = io::ViltConfig::from_file(*dir / "config_full.json");
    diff.extra = full.extra = {};
    CHECK(diff == full);

    auto model = ViltForImageAndTextRetrieval<Cpu, float>::from_pretrained(*dir);
    Graph<Cpu, float> g;
    const auto text = tandem::testing::text_batch_with_types(*dir / "inputs");
    auto images = images_from(g, *dir / "inputs");
    auto mask = xt::load_npy<std::int64_t>((*dir / "inputs" / "pixel_mask.npy").string());
    xt::view(mask, 2) = 0;
    images.pixel_mask = from_xtensor<Cpu, std::int64_t>(mask);
    CHECK(testing::error_message([&] { model.forward(g, text, images); }) ==
          "ViltModel: pixel_mask of image 2 covers no patch (0 valid rows, 0 valid columns of 8-pixel "
          "patches)");
}
