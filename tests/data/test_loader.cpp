#include <tandem/data/loader.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/data/readers/csv.hpp>
#include <tandem/data/samplers.hpp>

#include <doctest/doctest.h>

#include "../test_data.hpp"
#include "error_message.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

using namespace tandem::data;
using tandem::Cpu;
using tandem::Tokenizer;
using tandem::testing::error_message;
using tandem::testing::TempDir;
using tandem::testing::write_bytes;

namespace {

// A word-level tokenizer over a tiny vocabulary, split on whitespace.
Tokenizer words() {
    const auto j = nlohmann::json::parse(R"({
        "version": "1.0", "added_tokens": [], "normalizer": null, "post_processor": null, "decoder": null,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "model": {"type": "WordLevel", "unk_token": "[UNK]",
                  "vocab": {"[PAD]": 0, "[UNK]": 1, "a": 2, "cat": 3, "dog": 4, "on": 5, "the": 6, "mat": 7}}})");
    return Tokenizer::from_json(j);
}

tandem::image::ImageProcessor tiny_processor() {
    auto p = tandem::image::ImageProcessor::siglip();  // exact 2x2 resize, mean = std = 0.5
    p.size_height = p.size_width = 2;
    p.resample = tandem::image::Resample::nearest;
    return p;
}

// A 2x2 binary PPM of one grey value.
void write_ppm(const std::filesystem::path& p, unsigned char v) {
    write_bytes(p, std::string("P6\n2 2\n255\n") + std::string(12, static_cast<char>(v)));
}

Dataset captions(const TempDir& dir, std::size_t n, std::size_t corrupt = static_cast<std::size_t>(-1)) {
    std::string csv = "caption,image,label\n";
    const char* texts[] = {"a cat", "the dog on the mat", "a dog", "cat on mat"};
    for (std::size_t i = 0; i < n; ++i) {
        const std::string name = "img" + std::to_string(i) + ".ppm";
        if (i == corrupt)
            write_bytes(dir / name, "\x89PNG\r\n\x1a\n cut short");
        else
            write_ppm(dir / name, static_cast<unsigned char>(10 * i));
        csv += std::string(texts[i % 4]) + "," + name + "," + std::to_string(i % 3) + "\n";
    }
    write_bytes(dir / "captions.csv", csv);
    return read_csv(dir / "captions.csv");
}

template <class S>
std::vector<std::uint64_t> digests(DataLoader<Cpu, S>& loader) {
    std::vector<std::uint64_t> out;
    while (auto b = loader.next()) out.push_back(b->digest());
    return out;
}

}  // namespace

TEST_CASE("Collator: texts padded to the longest row, pixel_values, labels, by hand") {
    TempDir dir;
    const Dataset d = captions(dir, 3);
    REQUIRE(d.column("image").type() == ColumnType::image);
    const Collator c(words(), tiny_processor());
    const HostBatch b = c.collate(d, {1, 0}, 0);
    CHECK(b.rows == std::vector<std::size_t>{1, 0});
    REQUIRE(b.inputs.size() == 2);
    const auto& text = b.inputs[0].text;
    CHECK(b.inputs[0].name == "caption");
    CHECK(text.batch == 2);
    CHECK(text.length == 5);
    CHECK(text.input_ids == std::vector<std::int64_t>{6, 4, 5, 6, 7, 2, 3, 0, 0, 0});
    CHECK(text.attention_mask == std::vector<std::int64_t>{1, 1, 1, 1, 1, 1, 1, 0, 0, 0});
    const auto& img = b.inputs[1];
    CHECK(img.image_rows == std::vector<std::size_t>{0, 1});
    CHECK(img.height == 2);
    REQUIRE(img.pixel_values.size() == 2 * 3 * 2 * 2);
    // Grey 10 and 0, rescaled by 1/255 and normalised with mean = std = 0.5.
    CHECK(img.pixel_values[0] == doctest::Approx((10 / 255.0 - 0.5) / 0.5).epsilon(1e-6));
    CHECK(img.pixel_values[12] == doctest::Approx(-1.0));
    CHECK(b.labels == std::vector<std::int64_t>{1, 0});
    CHECK_FALSE(b.scores.has_value());

    // Truncation to max_length, and tensors of the right shapes.
    const Collator short_texts(words(), tiny_processor(), {.max_length = 3});
    const auto t = Batch<Cpu>::from_host(short_texts.collate(d, {1, 2}, 0));
    REQUIRE(t.inputs[0].text.has_value());
    CHECK(t.inputs[0].text->input_ids.to_vector() == std::vector<std::int64_t>{6, 4, 5, 2, 4, 0});
    CHECK(t.inputs[0].text->attention_mask.to_vector() == std::vector<std::int64_t>{1, 1, 1, 1, 1, 0});
    CHECK(t.inputs[1].pixel_values->shape().str() == "[2, 3, 2, 2]");
    CHECK(t.labels->to_vector() == std::vector<std::int64_t>{1, 2});
    // The tensors hold exactly the host batch.
    CHECK(t.digest() == short_texts.collate(d, {1, 2}, 0).digest());
    CHECK(t.digest() != short_texts.collate(d, {2, 1}, 0).digest());
}

TEST_CASE("Collator: a mixed column is split by modality with the rows of each part") {
    TempDir dir;
    write_ppm(dir / "x.ppm", 255);
    std::vector<Cell> cells = {std::string("a cat"), image_file(dir / "x.ppm"), std::string("dog")};
    const Dataset d(
        {Column("query", std::move(cells)), Column("score", std::vector<float>{0.5f, 1.0f, 0.0f})});
    const Collator c(words(), tiny_processor());
    const HostBatch b = c.collate(d, {0, 1, 2}, 0);
    REQUIRE(b.inputs.size() == 1);
    CHECK(b.inputs[0].text_rows == std::vector<std::size_t>{0, 2});
    CHECK(b.inputs[0].image_rows == std::vector<std::size_t>{1});
    CHECK(b.inputs[0].text.input_ids == std::vector<std::int64_t>{2, 3, 4, 0});
    CHECK(b.inputs[0].pixel_values[0] == doctest::Approx(1.0));
    CHECK(b.scores == std::vector<float>{0.5f, 1.0f, 0.0f});
}

TEST_CASE("DataLoader: identical batches at 1 and 2 threads and with prefetch 0 and 8") {
    TempDir dir;
    const Dataset d = captions(dir, 22);
    auto run = [&](std::size_t workers, std::size_t prefetch, std::uint64_t epoch) {
        DataLoader<Cpu, DefaultBatchSampler> loader(d, DefaultBatchSampler(d, {.batch_size = 4, .seed = 3}),
                                                    Collator(words(), tiny_processor()),
                                                    {.num_workers = workers, .prefetch = prefetch});
        loader.set_epoch(epoch);
        return digests(loader);
    };
    const auto reference = run(1, 0, 0);
    CHECK(reference.size() == 6);
    CHECK(run(1, 8, 0) == reference);
    CHECK(run(2, 0, 0) == reference);
    CHECK(run(2, 8, 0) == reference);
    CHECK(run(2, 1, 0) == reference);
    const auto next_epoch = run(2, 8, 1);
    CHECK(next_epoch.size() == 6);
    CHECK(next_epoch != reference);
    CHECK(run(1, 0, 1) == next_epoch);

    // Augmented images depend on (seed, epoch, row) only.
    tandem::image::TrainTransform augment;
    augment.random_resized_crop.height = augment.random_resized_crop.width = 2;
    augment.color_jitter.brightness = 0.4;
    auto run_augmented = [&](std::size_t workers, std::size_t prefetch, std::uint64_t epoch) {
        DataLoader<Cpu, DefaultBatchSampler> loader(
            d, DefaultBatchSampler(d, {.batch_size = 5, .seed = 3}),
            Collator(words(), tiny_processor(), {.augment = augment, .seed = 9}),
            {.num_workers = workers, .prefetch = prefetch});
        loader.set_epoch(epoch);
        return digests(loader);
    };
    CHECK(run_augmented(2, 8, 0) == run_augmented(1, 0, 0));
    CHECK(run_augmented(2, 8, 1) != run_augmented(2, 8, 0));
}

TEST_CASE("DataLoader: a corrupt image in row k stops with row k and its file, or is skipped and reported") {
    TempDir dir;
    const Dataset d = captions(dir, 10, 6);
    auto loader_with = [&](bool skip) {
        return std::make_unique<DataLoader<Cpu, DefaultBatchSampler>>(
            d, DefaultBatchSampler(d, {.batch_size = 10, .seed = 1}), Collator(words(), tiny_processor()),
            LoaderOptions{.num_workers = 2, .prefetch = 4, .skip_bad_rows = skip});
    };
    auto strict = loader_with(false);
    const std::string message = error_message([&] { strict->next(); });
    const std::string file = (dir / "img6.ppm").string();
    CHECK(message == "row 6 (" + (dir / "captions.csv").string() + " line 8), column 'image' (" + file +
                         "): " + file + ": corrupt or truncated PNG (no complete IHDR header)");

    auto lenient = loader_with(true);
    const auto b = lenient->next();
    REQUIRE(b.has_value());
    CHECK(lenient->skipped_count() == 1);
    CHECK(lenient->skipped_rows() == std::vector<std::size_t>{6});
    CHECK(b->replaced == std::vector<std::size_t>{6});
    // Row 6 is replaced by the next readable row, 7, wherever it stood in the batch.
    CHECK(std::count(b->rows.begin(), b->rows.end(), 7) == 2);
    CHECK(std::count(b->rows.begin(), b->rows.end(), 6) == 0);
    CHECK_FALSE(lenient->next().has_value());
}

TEST_CASE("DataLoader: bad text and missing files name the row") {
    TempDir dir;
    const Dataset d(
        {Column("text", std::vector<std::string>{"a cat", "bad \xFF utf8"}),
         Column("image", std::vector<ImageRef>{image_file(dir / "nowhere.png"), image_file(dir / "x")})});
    const Collator c(words(), tiny_processor());
    const auto only_text = d.select_columns({"text"});
    CHECK(error_message([&] {
              c.collate(only_text, {0, 1}, 0);
          }).rfind("row 1, column 'text': invalid UTF-8 at byte offset 4", 0) == 0);
    CHECK(error_message([&] { c.collate(d.select_columns({"image"}), {0}, 0); })
              .rfind("row 0, column 'image' (" + (dir / "nowhere.png").string() +
                         "): " + (dir / "nowhere.png").string() + ": cannot open image file",
                     0) == 0);
}

TEST_CASE("DataLoader: bad input is a clear error") {
    TempDir dir;
    const Dataset d = captions(dir, 4);
    const auto sampler = DefaultBatchSampler(d, {.batch_size = 2});
    // An empty dataset.
    CHECK(error_message([&] {
              DataLoader<Cpu, DefaultBatchSampler>(Dataset{}, sampler, Collator(words(), tiny_processor()));
          }) == "dataset is empty, expected at least one row");
    // A column the loss needs is missing: a triplet loss on pairs.
    CHECK(error_message([&] {
              DataLoader<Cpu, DefaultBatchSampler>(d, sampler,
                                                   Collator(words(), tiny_processor(), {.inputs = 3}));
          }) == "dataset: the loss takes 3 input columns, found 2 ['caption', 'image']");
    // A label column of the wrong type.
    const Dataset scored(
        {Column("a", std::vector<std::string>{"a"}), Column("score", std::vector<float>{0.5f})});
    CHECK(error_message([&] {
              DataLoader<Cpu, DefaultBatchSampler>(
                  scored, DefaultBatchSampler(scored, {.batch_size = 1}),
                  Collator(words(), tiny_processor(), {.label = LabelKind::label}));
          }) == "dataset: label column 'score' must hold int64 labels, found float scores");
    CHECK(error_message([&] {
              DataLoader<Cpu, DefaultBatchSampler>(d, sampler, Collator(std::nullopt, tiny_processor()));
          }) == "dataset: column 'caption' holds texts but the collator has no tokenizer");
    // A batch larger than the dataset with drop_last.
    CHECK(error_message([&] { DefaultBatchSampler(d, {.batch_size = 5, .drop_last = true}); }) ==
          "DefaultBatchSampler: batch_size 5 with drop_last leaves no batch: the dataset has 4 rows");
}

TEST_CASE("DataLoader: a DatasetDict with a multi-dataset sampler names each batch's dataset") {
    TempDir dir;
    const Dataset a = captions(dir, 4);
    const Dataset b = a.select({3, 2, 1});
    const DatasetDict dict{{"first", a}, {"second", b}};
    ProportionalBatchSampler sampler(
        dict, {DefaultBatchSampler(a, {.batch_size = 2}), DefaultBatchSampler(b, {.batch_size = 2})}, 5);
    DataLoader<Cpu, ProportionalBatchSampler> loader(dict, sampler, Collator(words(), tiny_processor()),
                                                     {.num_workers = 2, .prefetch = 2});
    CHECK(loader.size() == 4);
    std::vector<std::string> names;
    std::size_t rows = 0;
    while (auto batch = loader.next()) {
        names.push_back(batch->dataset_name);
        rows += batch->size();
        for (std::size_t r : batch->rows) CHECK(r < (batch->dataset_name == "first" ? 4u : 3u));
    }
    CHECK(rows == 7);
    CHECK(std::count(names.begin(), names.end(), "first") == 2);
    CHECK(std::count(names.begin(), names.end(), "second") == 2);
}

TEST_CASE("Collator::from_folder: CLIP's tokenizer folder, truncated at 77 and padded with <|endoftext|>") {
    const auto dir = tandem::testing::test_data("tokenizers/clip-vit-base-patch32");
    if (!dir) return;
    std::vector<std::string> texts;
    std::vector<std::vector<std::int64_t>> expected;
    std::ifstream in(*dir / "reference_public.jsonl");
    for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line);
        texts.push_back(j["text"].get<std::string>());
        expected.push_back(j["ids"].get<std::vector<std::int64_t>>());
    }
    REQUIRE(texts.size() > 100);
    const Dataset d({Column("caption", texts)});
    const Collator c = Collator::from_folder(*dir);  // model_max_length 77 from tokenizer_config.json
    std::vector<std::size_t> rows(texts.size());
    std::iota(rows.begin(), rows.end(), std::size_t{0});
    const HostBatch b = c.collate(d, rows, 0);
    const HostText& t = b.inputs[0].text;
    std::size_t longest = 0, truncated = 0;
    for (const auto& ids : expected) longest = std::max(longest, ids.size()), truncated += ids.size() == 77;
    CHECK(t.length == longest);
    CHECK(longest == 77);
    CHECK(truncated > 0);
    for (std::size_t r = 0; r < texts.size(); ++r) {
        CAPTURE(texts[r]);
        const std::size_t n = expected[r].size();
        const auto row = t.input_ids.begin() + static_cast<std::ptrdiff_t>(r * t.length);
        CHECK(std::vector<std::int64_t>(row, row + static_cast<std::ptrdiff_t>(n)) == expected[r]);
        CHECK(std::all_of(row + static_cast<std::ptrdiff_t>(n), row + static_cast<std::ptrdiff_t>(t.length),
                          [](std::int64_t id) { return id == 49407; }));
        CHECK(t.attention_mask[r * t.length + n - 1] == 1);
        if (n < t.length) CHECK(t.attention_mask[r * t.length + n] == 0);
    }
    TempDir empty;
    CHECK(error_message([&] { Collator::from_folder(empty.path()); }) ==
          empty.path().string() +
              ": no tokenizer (tokenizer.json, vocab.json + merges.txt or vocab.txt) and no "
              "preprocessor_config.json or processor_config.json, expected a model folder");
}

TEST_CASE(
    "Collator: prompts go before each text, and their length, less a trailing special token, to Pooling") {
    TempDir dir;
    const Dataset d = captions(dir, 2);
    auto j = nlohmann::json::parse(R"({
        "version": "1.0", "added_tokens": [], "normalizer": null, "decoder": null,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [8], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [9], "tokens": ["[SEP]"]}}},
        "model": {"type": "WordLevel", "unk_token": "[UNK]",
                  "vocab": {"[PAD]": 0, "[UNK]": 1, "a": 2, "cat": 3, "dog": 4, "on": 5, "the": 6, "mat": 7,
                            "[CLS]": 8, "[SEP]": 9}}})");
    // [CLS] the [SEP] is three tokens; the prompt is [CLS] the, two, as sentence-transformers counts it.
    const Collator bert(Tokenizer::from_json(j), tiny_processor(), {.prompts = "the "});
    const auto b = Batch<Cpu>::from_host(bert.collate(d, {0}, 0));
    CHECK(b.inputs[0].text->input_ids.to_vector() == std::vector<std::int64_t>{8, 6, 2, 3, 9});
    CHECK(b.inputs[0].text->prompt_length == 2);
    CHECK(b.to_host().digest() == bert.collate(d, {0}, 0).digest());

    // Without special tokens the whole prompt counts; a column without a prompt has none.
    const Collator plain(words(), tiny_processor(), {.prompts = {{"caption", "on "}}});
    const auto h = plain.collate(d, {0, 1}, 0);
    CHECK(h.inputs[0].text.input_ids == std::vector<std::int64_t>{5, 2, 3, 0, 0, 0, 5, 6, 4, 5, 6, 7});
    CHECK(h.inputs[0].text.prompt_length == 1);
    CHECK(h.digest() != Collator(words(), tiny_processor()).collate(d, {0, 1}, 0).digest());

    // By dataset name, as a DatasetDict's batches carry it.
    const Collator by_dataset(
        words(), tiny_processor(),
        {.prompts = nlohmann::json::parse(R"({"queries": {"caption": "the "}, "docs": "a "})")});
    CHECK(by_dataset.prompt_for("queries", "caption") == "the ");
    CHECK(by_dataset.prompt_for("docs", "caption") == "a ");
    CHECK(by_dataset.prompt_for("other", "caption") == std::nullopt);
    CHECK(by_dataset.collate(d, {0}, 0, false, "docs").inputs[0].text.input_ids ==
          std::vector<std::int64_t>{2, 2, 3});
    const auto unnamed = error_message([&] { by_dataset.collate(d, {0}, 0); });
    CHECK(unnamed.find(
              "column 'caption': prompts: a dictionary of dataset names (queries, ...) to column prompts "
              "needs a DatasetDict, found a dataset without a name") != std::string::npos);
    CHECK(error_message([] {
              Collator(words(), std::nullopt, {.prompts = nlohmann::json::parse(R"({"caption": 3})")});
          }) ==
          "prompts: expected a string, {column: prompt} or {dataset: string or {column: prompt}}, found "
          "{\"caption\":3}");
}
