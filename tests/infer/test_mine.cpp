// mine_hard_negatives against the rows the real sentence-transformers returns with the
// st-bert-tiny folder (tests/infer/data/mine, written by make_mine_reference.py), worked
// examples on embeddings for every filter and output format, the properties of "random"
// sampling, image and mixed columns (with st-clip-tiny), and the errors of bad input.
#include <tandem/infer/mine.hpp>

#include "error_message.hpp"
#include "test_data.hpp"

#include <tandem/backend/cpu.hpp>
#include <tandem/core/rng.hpp>
#include <tandem/infer/sentence_transformer.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numbers>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

using namespace tandem;
namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_message;

namespace {

const json& reference() {
    static const json j = [] {
        std::ifstream in(fs::path(TANDEM_SOURCE_ROOT) / "tests/infer/data/mine/mine_reference.json");
        return json::parse(in);
    }();
    return j;
}

template <class T>
void set_option(std::optional<T>& field, const json& o, const char* key) {
    if (o.contains(key)) field = o.at(key).get<T>();
}

// The case's keyword arguments as options; a key the test does not know fails, so that no
// setting of the reference goes unread.
MineHardNegativesOptions mine_options(const json& o) {
    static const std::set<std::string> known = {
        "anchor_column_name", "positive_column_name", "range_min",       "range_max",     "max_score",
        "min_score",          "absolute_margin",      "relative_margin", "num_negatives", "output_format",
        "output_scores",      "include_positives",    "as_triplets"};
    for (const auto& item : o.items()) {
        CAPTURE(item.key());
        CHECK(known.count(item.key()) == 1);
    }
    MineHardNegativesOptions m;
    set_option(m.anchor_column_name, o, "anchor_column_name");
    set_option(m.positive_column_name, o, "positive_column_name");
    m.range_min = o.value("range_min", m.range_min);
    set_option(m.range_max, o, "range_max");
    set_option(m.max_score, o, "max_score");
    set_option(m.min_score, o, "min_score");
    set_option(m.absolute_margin, o, "absolute_margin");
    set_option(m.relative_margin, o, "relative_margin");
    m.num_negatives = o.value("num_negatives", m.num_negatives);
    m.output_format = o.value("output_format", m.output_format);
    m.output_scores = o.value("output_scores", m.output_scores);
    m.include_positives = o.value("include_positives", m.include_positives);
    set_option(m.as_triplets, o, "as_triplets");
    return m;
}

json cell_json(const data::Cell& c) {
    if (const auto* text = std::get_if<std::string>(&c)) return *text;
    return "image " + data::describe(std::get<data::ImageRef>(c));
}

// Row r as Python's Dataset.to_list() writes it.
json row_json(const MinedHardNegatives& m, std::size_t r) {
    json row = json::object();
    const auto& d = m.dataset;
    for (std::size_t c = 0; c < d.num_columns(); ++c) {
        const auto& column = d.column(c);
        if (column.type() == data::ColumnType::label)
            row[column.name()] = d.label(r, c);
        else if (column.type() == data::ColumnType::score)
            row[column.name()] = d.score(r, c);
        else
            row[column.name()] = cell_json(d.cell(r, c));
    }
    if (m.documents) {
        json documents = json::array();
        for (const auto& cell : m.documents->rows.at(r)) documents.push_back(cell_json(cell));
        row[m.documents->name] = documents;
    }
    if (m.labels) row[m.labels->name] = m.labels->rows.at(r);
    if (m.scores) row[m.scores->name] = m.scores->rows.at(r);
    return row;
}

// Texts and integers exactly, numbers written as floats to `tolerance`.
void check_json(const json& got, const json& want, double tolerance) {
    CAPTURE(got.dump());
    CAPTURE(want.dump());
    if (want.is_number_float()) {
        REQUIRE(got.is_number());
        CHECK(std::abs(got.get<double>() - want.get<double>()) <= tolerance);
    } else if (want.is_array() || want.is_object()) {
        REQUIRE(got.type() == want.type());
        REQUIRE(got.size() == want.size());
        for (auto it = want.begin(); it != want.end(); ++it) {
            if (want.is_array())
                check_json(got.at(std::size_t(std::distance(want.begin(), it))), *it, tolerance);
            else
                check_json(got.at(it.key()), *it, tolerance);
        }
    } else {
        CHECK(got == want);
    }
}

void check_rows(const MinedHardNegatives& m, const json& columns, const json& rows, double tolerance) {
    CHECK(m.column_names() == columns.get<std::vector<std::string>>());
    REQUIRE(m.size() == rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
        CAPTURE(r);
        check_json(row_json(m, r), rows[r], tolerance);
    }
}

// Each row's cells as one string "anchor|positive|negative...", for compact expectations.
std::vector<std::string> joined_rows(const MinedHardNegatives& m) {
    std::vector<std::string> out;
    for (std::size_t r = 0; r < m.size(); ++r) {
        std::string row;
        for (std::size_t c = 0; c < m.dataset.num_columns(); ++c) {
            if (m.dataset.column(c).is_label()) continue;
            row += (row.empty() ? "" : "|") + cell_json(m.dataset.cell(r, c)).get<std::string>();
        }
        if (m.documents)
            for (const auto& cell : m.documents->rows[r]) row += "|" + cell_json(cell).get<std::string>();
        out.push_back(row);
    }
    return out;
}

void check_scores(const std::vector<std::vector<double>>& got, const std::vector<std::vector<double>>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t r = 0; r < want.size(); ++r) {
        CAPTURE(r);
        REQUIRE(got[r].size() == want[r].size());
        for (std::size_t k = 0; k < want[r].size(); ++k) CHECK(std::abs(got[r][k] - want[r][k]) < 1e-12);
    }
}

double cosd(double degrees) { return std::cos(degrees * std::numbers::pi / 180); }

// Unit vectors at these angles in the plane, so that every score is the cosine of an angle.
xt::xtensor<double, 2> at_angles(const std::vector<double>& degrees) {
    xt::xtensor<double, 2> e = xt::zeros<double>({degrees.size(), std::size_t{2}});
    for (std::size_t i = 0; i < degrees.size(); ++i) {
        e(i, 0) = cosd(degrees[i]);
        e(i, 1) = std::sin(degrees[i] * std::numbers::pi / 180);
    }
    return e;
}

data::Dataset pairs(const std::vector<std::string>& anchors, const std::vector<std::string>& positives) {
    return data::Dataset({data::Column("anchor", anchors), data::Column("positive", positives)});
}

// The worked example. Anchor "a" has three rows (one repeated) and two positives; "c"'s
// positive is the text "a", so the anchor "a" is never its own negative. Angles: anchors
// a 0, b 90, c 50; corpus p1 10, p2 80, p3 30, a 0 (the corpus is the positives, in order).
const data::Dataset worked = pairs({"a", "b", "a", "c", "a"}, {"p1", "p2", "p3", "a", "p1"});
const xt::xtensor<double, 2> worked_anchors = at_angles({0, 90, 0, 50, 0});
const xt::xtensor<double, 2> worked_positives = at_angles({10, 80, 30, 0, 10});

MinedHardNegatives mine_worked(const MineHardNegativesOptions& o) {
    return mine_hard_negatives(worked, worked_anchors, worked_positives, o);
}

// A stand-in model that records how it is asked to encode: texts embed as counts of a few
// letters, images by the length of their path.
struct RecordingModel {
    std::string similarity = "cosine";
    mutable std::vector<std::string> calls;

    const std::string& similarity_fn_name() const { return similarity; }
    xt::xtensor<float, 2> encode_query(const std::vector<std::string>& t, const EncodeOptions& o) const {
        return record("query", t, o);
    }
    xt::xtensor<float, 2> encode_document(const std::vector<std::string>& t, const EncodeOptions& o) const {
        return record("document", t, o);
    }
    xt::xtensor<float, 2> encode(const std::vector<data::ImageRef>& images, const EncodeOptions& o) const {
        std::vector<std::string> paths;
        for (const auto& image : images) paths.push_back(data::describe(image));
        return record("image", paths, o);
    }

    static xt::xtensor<float, 2> embed(const std::vector<std::string>& texts) {
        xt::xtensor<float, 2> out = xt::zeros<float>({texts.size(), std::size_t{4}});
        for (std::size_t i = 0; i < texts.size(); ++i)
            for (std::size_t k = 0; k < 4; ++k)
                out(i, k) = static_cast<float>(1 + std::count(texts[i].begin(), texts[i].end(), "aeos"[k]));
        return out;
    }

private:
    xt::xtensor<float, 2> record(const std::string& what, const std::vector<std::string>& inputs,
                                 const EncodeOptions& o) const {
        calls.push_back(what + " n=" + std::to_string(inputs.size()) +
                        " batch=" + std::to_string(o.batch_size) +
                        " normalize=" + std::to_string(o.normalize_embeddings) +
                        " prompt=" + o.prompt.value_or("-") + " prompt_name=" + o.prompt_name.value_or("-"));
        return embed(inputs);
    }
};

}  // namespace

TEST_CASE("mine_hard_negatives returns sentence-transformers' rows for st-bert-tiny") {
    const auto& ref = reference();
    const auto dir = testing::test_data(ref.at("folder").get<std::string>());
    if (!dir) return;
    const auto model = SentenceTransformer<Cpu>::load(*dir);
    std::vector<std::string> queries, answers;
    for (const auto& p : ref.at("pairs")) {
        queries.push_back(p.at(0));
        answers.push_back(p.at(1));
    }
    const auto names = ref.at("columns").get<std::vector<std::string>>();
    const data::Dataset dataset({data::Column(names.at(0), queries), data::Column(names.at(1), answers)});
    const auto extra = ref.at("extra_corpus").get<std::vector<std::string>>();
    EncodeOptions unit;
    unit.normalize_embeddings = true;
    const auto query_embeddings = model.encode(queries, unit);
    const auto answer_embeddings = model.encode(answers, unit);
    const auto extra_embeddings = model.encode(extra, unit);
    for (const auto& c : ref.at("cases")) {
        INFO("case ", c.at("name").get<std::string>());
        auto o = mine_options(c.at("options"));
        if (c.value("corpus", false)) o.corpus = data::Column("corpus", extra);
        // Python's float32 scores against tandem's double ones, from embeddings that agree to 1e-5.
        check_rows(mine_hard_negatives(dataset, model, o), c.at("columns"), c.at("rows"), 1e-5);

        // The same rows from embeddings of each dataset row.
        const bool swapped = o.anchor_column_name == names.at(1);
        const auto& anchors = swapped ? answer_embeddings : query_embeddings;
        const auto& positives = swapped ? query_embeddings : answer_embeddings;
        check_rows(o.corpus ? mine_hard_negatives(dataset, anchors, positives, extra_embeddings, o)
                            : mine_hard_negatives(dataset, anchors, positives, o),
                   c.at("columns"), c.at("rows"), 1e-5);
    }
}

TEST_CASE("mine_hard_negatives: a worked example through every filter and output format") {
    const double c10 = cosd(10), c20 = cosd(20), c30 = cosd(30), c40 = cosd(40), c50 = cosd(50);
    const double c60 = cosd(60), c80 = cosd(80), c90 = cosd(90);
    MineHardNegativesOptions o;

    SUBCASE("triplets: each anchor's rows by positive, its own positives and its own text left out") {
        // a keeps only p2 (p1 and p3 are its positives, "a" is itself); b's three best are
        // p3, p1, a; c's are p3, p2, p1 (its positive "a" left out). The repeated row adds nothing.
        o.output_scores = true;
        const auto m = mine_worked(o);
        CHECK(m.column_names() == std::vector<std::string>{"anchor", "positive", "negative", "scores"});
        CHECK(joined_rows(m) == std::vector<std::string>{"a|p1|p2", "a|p3|p2", "b|p2|p3", "b|p2|p1", "b|p2|a",
                                                         "c|a|p3", "c|a|p2", "c|a|p1"});
        check_scores(
            m.scores->rows,
            {{c10, c80}, {c30, c80}, {c10, c60}, {c10, c80}, {c10, c90}, {c50, c20}, {c50, c30}, {c50, c40}});
        CHECK(m.dataset.column("negative").type() == data::ColumnType::text);
        CHECK(!m.documents);
        CHECK(!m.labels);
    }
    SUBCASE("n-tuples keep only rows with num_negatives negatives; as_triplets = false asks for them") {
        o.num_negatives = 2;
        o.as_triplets = false;
        const auto m = mine_worked(o);
        CHECK(m.column_names() == std::vector<std::string>{"anchor", "positive", "negative_1", "negative_2"});
        CHECK(joined_rows(m) == std::vector<std::string>{"b|p2|p3|p1", "c|a|p3|p2"});
        CHECK(!m.scores);
    }
    SUBCASE("labeled pairs: each anchor's positives labelled 1, then its negatives labelled 0") {
        o.output_format = "labeled-pair";
        const auto m = mine_worked(o);
        CHECK(m.column_names() == std::vector<std::string>{"anchor", "positive", "label"});
        CHECK(joined_rows(m) == std::vector<std::string>{"a|p1", "a|p3", "a|p2", "b|p2", "b|p3", "b|p1",
                                                         "b|a", "c|a", "c|p3", "c|p2", "c|p1"});
        std::vector<std::int64_t> labels;
        for (std::size_t r = 0; r < m.size(); ++r) labels.push_back(m.dataset.label(r, 2));
        CHECK(labels == std::vector<std::int64_t>{1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0});
        o.output_scores = true;
        const auto scored = mine_worked(o);
        CHECK(scored.column_names() == std::vector<std::string>{"anchor", "positive", "score"});
        CHECK(scored.dataset.score(0, 2) == static_cast<float>(c10));
        CHECK(scored.dataset.score(2, 2) == static_cast<float>(c80));
    }
    SUBCASE("labeled lists: the positive and then the negatives, with labels or scores") {
        o.output_format = "labeled-list";
        const auto m = mine_worked(o);
        CHECK(m.column_names() == std::vector<std::string>{"anchor", "positive", "labels"});
        CHECK(m.dataset.column_names() == std::vector<std::string>{"anchor"});
        CHECK(joined_rows(m) ==
              std::vector<std::string>{"a|p1|p2", "a|p3|p2", "b|p2|p3|p1|a", "c|a|p3|p2|p1"});
        CHECK(m.labels->rows ==
              std::vector<std::vector<std::int64_t>>{{1, 0}, {1, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}});
        o.output_scores = true;
        const auto scored = mine_worked(o);
        CHECK(scored.column_names() == std::vector<std::string>{"anchor", "positive", "scores"});
        check_scores(scored.scores->rows,
                     {{c10, c80}, {c30, c80}, {c10, c60, c80, c90}, {c50, c20, c30, c40}});
    }
    SUBCASE("absolute_margin: score + margin must not pass the lowest positive score") {
        // a's lowest positive is p3 (cos 30); c's positive scores cos 50, below all its candidates.
        o.absolute_margin = 0.1;
        CHECK(joined_rows(mine_worked(o)) ==
              std::vector<std::string>{"a|p1|p2", "a|p3|p2", "b|p2|p3", "b|p2|p1", "b|p2|a"});
        o.absolute_margin.reset();
        o.margin = 0.1;
        CHECK(joined_rows(mine_worked(o)) ==
              std::vector<std::string>{"a|p1|p2", "a|p3|p2", "b|p2|p3", "b|p2|p1", "b|p2|a"});
    }
    SUBCASE("relative_margin: the score must stay below positive - |positive| * margin") {
        // b: cos 10 * 0.5 = 0.492 drops p3 (0.5).
        o.relative_margin = 0.5;
        CHECK(joined_rows(mine_worked(o)) ==
              std::vector<std::string>{"a|p1|p2", "a|p3|p2", "b|p2|p1", "b|p2|a"});
    }
    SUBCASE("max_score and min_score bound the candidates' scores") {
        o.max_score = 0.8;
        o.min_score = 0.1;
        CHECK(joined_rows(mine_worked(o)) ==
              std::vector<std::string>{"a|p1|p2", "a|p3|p2", "b|p2|p3", "b|p2|p1", "c|a|p1"});
    }
    SUBCASE("range_min and range_max take ranks [1, 3) of the candidates left after the exclusions") {
        o.range_min = 1;
        o.range_max = 3;
        o.num_negatives = 2;
        CHECK(joined_rows(mine_worked(o)) ==
              std::vector<std::string>{"b|p2|p1", "b|p2|a", "c|a|p2", "c|a|p1"});
    }
    SUBCASE("include_positives keeps the positives among the candidates, as n-tuples whatever the format") {
        // "a" is still not its own negative: it is c's positive, not its own.
        o.include_positives = true;
        o.output_format = "labeled-pair";
        const auto m = mine_worked(o);
        CHECK(m.column_names() ==
              std::vector<std::string>{"anchor", "positive", "negative_1", "negative_2", "negative_3"});
        CHECK(joined_rows(m) ==
              std::vector<std::string>{"a|p1|p1|p3|p2", "a|p3|p1|p3|p2", "b|p2|p2|p3|p1", "c|a|p3|p2|p1"});
    }
    SUBCASE("an anchor that is its own positive: left out, unless include_positives lets it in") {
        // Anchors s 0, t 90; corpus s 0, u 60.
        const auto d = pairs({"s", "t"}, {"s", "u"});
        const auto anchors = at_angles({0, 90}), positives = at_angles({0, 60});
        MineHardNegativesOptions one;
        one.num_negatives = 1;
        CHECK(joined_rows(mine_hard_negatives(d, anchors, positives, one)) ==
              std::vector<std::string>{"s|s|u", "t|u|s"});
        MineHardNegativesOptions both;
        both.num_negatives = 2;
        both.include_positives = true;
        CHECK(joined_rows(mine_hard_negatives(d, anchors, positives, both)) ==
              std::vector<std::string>{"s|s|s|u", "t|u|u|s"});
    }
    SUBCASE("an extra corpus comes first; a cell in it and among the positives is one candidate") {
        // x at 160 degrees; the corpus's "p2" is the positive p2, embedded as its first row here.
        o.corpus = data::Column("docs", std::vector<std::string>{"x", "p2"});
        const auto m = mine_hard_negatives(worked, worked_anchors, worked_positives, at_angles({160, 80}), o);
        CHECK(joined_rows(m) == std::vector<std::string>{"a|p1|p2", "a|p1|x", "a|p3|p2", "a|p3|x", "b|p2|p3",
                                                         "b|p2|x", "b|p2|p1", "c|a|p3", "c|a|p2", "c|a|p1"});
    }
    SUBCASE("equal scores rank the later corpus entry first") {
        o.num_negatives = 1;
        o.corpus = data::Column("docs", std::vector<std::string>{"x", "y"});
        const auto m =
            mine_hard_negatives(pairs({"q"}, {"p"}), at_angles({0}), at_angles({90}), at_angles({30, 30}), o);
        CHECK(joined_rows(m) == std::vector<std::string>{"q|p|y"});
    }
    SUBCASE("column names by option; the columns keep their names") {
        const data::Dataset d(
            {data::Column("id", std::vector<std::string>{"1", "2", "3", "4", "5"}),
             data::Column("question", std::vector<std::string>{"a", "b", "a", "c", "a"}),
             data::Column("answer", std::vector<std::string>{"p1", "p2", "p3", "a", "p1"})});
        o.anchor_column_name = "question";
        o.positive_column_name = "answer";
        const auto m = mine_hard_negatives(d, worked_anchors, worked_positives, o);
        CHECK(m.column_names() == std::vector<std::string>{"question", "answer", "negative"});
        CHECK(joined_rows(m) == joined_rows(mine_worked({})));
    }
}

TEST_CASE("mine_hard_negatives: random sampling draws uniformly from the candidates, best first, by seed") {
    // Four anchors, one positive each, and 16 more candidates, in 6 dimensions.
    const std::size_t rows = 4, extra = 16, dim = 6;
    std::vector<std::string> anchors, positives, corpus;
    for (std::size_t i = 0; i < rows; ++i) {
        anchors.push_back("q" + std::to_string(i));
        positives.push_back("p" + std::to_string(i));
    }
    for (std::size_t i = 0; i < extra; ++i) corpus.push_back("d" + std::to_string(i));
    const Philox rng(20261205);
    const auto random_rows = [&](std::size_t n, std::uint64_t offset) {
        xt::xtensor<double, 2> e = xt::zeros<double>({n, dim});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < dim; ++j) e(i, j) = rng.normal(offset + i * dim + j);
        return e;
    };
    const auto d = pairs(anchors, positives);
    const auto a = random_rows(rows, 0), p = random_rows(rows, 1000), c = random_rows(extra, 2000);
    MineHardNegativesOptions o;
    o.corpus = data::Column("corpus", corpus);
    o.output_format = "labeled-list";
    o.range_min = 1;
    o.range_max = 7;
    // The whole window of candidates, best first.
    o.num_negatives = 6;
    const auto window = joined_rows(mine_hard_negatives(d, a, p, c, o));
    REQUIRE(window.size() == rows);
    o.num_negatives = 2;
    o.sampling_strategy = "random";
    const auto sample = [&](std::uint64_t seed) {
        auto s = o;
        s.seed = seed;
        return joined_rows(mine_hard_negatives(d, a, p, c, s));
    };
    const auto cells = [](const std::string& row) {
        std::vector<std::string> out(1);
        for (char ch : row) {
            if (ch == '|')
                out.emplace_back();
            else
                out.back().push_back(ch);
        }
        return out;
    };
    std::map<std::pair<std::size_t, std::string>, int> picked;
    const int seeds = 300;
    for (int seed = 0; seed < seeds; ++seed) {
        const auto drawn = sample(seed);
        REQUIRE(drawn.size() == rows);
        for (std::size_t r = 0; r < rows; ++r) {
            CAPTURE(seed);
            CAPTURE(r);
            const auto got = cells(drawn[r]), all = cells(window[r]);
            // anchor, positive, then two of the window's candidates, in the window's order.
            REQUIRE(got.size() == 4);
            CHECK(std::vector<std::string>(got.begin(), got.begin() + 2) ==
                  std::vector<std::string>(all.begin(), all.begin() + 2));
            const auto first = std::find(all.begin() + 2, all.end(), got[2]);
            REQUIRE(first != all.end());
            CHECK(std::find(first + 1, all.end(), got[3]) != all.end());
            for (std::size_t k = 2; k < 4; ++k) ++picked[{r, got[k]}];
        }
    }
    CHECK(sample(7) == sample(7));
    CHECK(sample(7) != sample(8));
    // Each of the six candidates is drawn a third of the time: 100 of 300, give or take 40.
    CHECK(picked.size() == rows * 6);
    for (const auto& [key, count] : picked) {
        CAPTURE(key.first);
        CAPTURE(key.second);
        CHECK(count > 60);
        CHECK(count < 140);
    }
    SUBCASE("no more candidates than num_negatives: the sample is all of them, as top") {
        o.range_max = 3;
        auto top = o;
        top.sampling_strategy = "top";
        CHECK(joined_rows(mine_hard_negatives(d, a, p, c, o)) ==
              joined_rows(mine_hard_negatives(d, a, p, c, top)));
    }
}

TEST_CASE("mine_hard_negatives: image columns go through as image refs, and equal images are one candidate") {
    const auto file = [](const char* path) { return data::ImageRef(data::image_file(path)); };
    const auto bytes = [](std::uint8_t b, const char* name) { return data::encoded_image({b, b, b}, name); };
    // Anchors a 0, b 90; positives cat.png 20, dog.png 70; corpus: a text at 40, cat.png (at 0,
    // its first row), car.png at 60, and two images of equal bytes at 30 and (unused) 45.
    const data::Dataset d(
        {data::Column("anchor", std::vector<std::string>{"a", "b"}),
         data::Column("positive", std::vector<data::ImageRef>{file("cat.png"), file("dog.png")})});
    MineHardNegativesOptions o;
    o.corpus = data::Column("corpus",
                            std::vector<data::Cell>{std::string("a text"), file("cat.png"), file("car.png"),
                                                    bytes(7, "first"), bytes(7, "second")});
    o.num_negatives = 5;
    o.output_format = "n-tuple";
    const auto m =
        mine_hard_negatives(d, at_angles({0, 90}), at_angles({20, 70}), at_angles({40, 0, 60, 30, 45}), o);
    // Four distinct candidates besides each anchor's positive: too few for 5, so no n-tuple.
    CHECK(m.size() == 0);
    o.num_negatives = 4;
    o.output_scores = true;
    const auto four =
        mine_hard_negatives(d, at_angles({0, 90}), at_angles({20, 70}), at_angles({40, 0, 60, 30, 45}), o);
    CHECK(four.dataset.column("anchor").type() == data::ColumnType::text);
    CHECK(four.dataset.column("positive").type() == data::ColumnType::image);
    CHECK(four.dataset.column("negative_1").type() == data::ColumnType::mixed);
    CHECK(joined_rows(four) ==
          std::vector<std::string>{"a|image cat.png|image first|a text|image car.png|image dog.png",
                                   "b|image dog.png|image car.png|a text|image first|image cat.png"});
    REQUIRE(four.size() == 2);
    CHECK(std::holds_alternative<data::ImageRef>(four.dataset.cell(0, 2)));
    // cat.png scores as its first row, in the corpus (0 degrees), not its positive row (20).
    check_scores(four.scores->rows, {{1, cosd(30), cosd(40), cosd(60), cosd(70)},
                                     {cosd(20), cosd(30), cosd(50), cosd(60), cosd(90)}});
}

TEST_CASE(
    "mine_hard_negatives(dataset, model): texts by encode_query and encode_document, images by encode") {
    const RecordingModel model;
    const auto d = pairs({"an apple", "some oats", "an apple"}, {"a pear", "seeds", "sauce"});
    MineHardNegativesOptions o;
    o.num_negatives = 1;
    o.batch_size = 5;
    o.corpus_prompt = "doc: ";
    o.corpus_prompt_name = "ignored, as a prompt takes precedence";
    o.query_prompt_name = "query";
    o.output_scores = true;
    const auto m = mine_hard_negatives(d, model, o);
    CHECK(model.calls ==
          std::vector<std::string>{"document n=3 batch=5 normalize=1 prompt=doc:  prompt_name=-",
                                   "query n=2 batch=5 normalize=1 prompt=- prompt_name=query"});
    const auto anchors = RecordingModel::embed({"an apple", "some oats", "an apple"});
    const auto positives = RecordingModel::embed({"a pear", "seeds", "sauce"});
    const auto same = mine_hard_negatives(d, anchors, positives, o);
    CHECK(joined_rows(m) == joined_rows(same));
    check_scores(m.scores->rows, same.scores->rows);

    SUBCASE("images and texts mixed: each modality in one call, rows back in place") {
        model.calls.clear();
        o.corpus = data::Column(
            "corpus",
            std::vector<data::Cell>{data::ImageRef(data::image_file("pear.png")), std::string("a pie")});
        const auto mixed = mine_hard_negatives(d, model, o);
        CHECK(model.calls ==
              std::vector<std::string>{"document n=4 batch=5 normalize=1 prompt=doc:  prompt_name=-",
                                       "image n=1 batch=5 normalize=1 prompt=doc:  prompt_name=-",
                                       "query n=2 batch=5 normalize=1 prompt=- prompt_name=query"});
        const auto extra = RecordingModel::embed({"pear.png", "a pie"});
        CHECK(joined_rows(mixed) == joined_rows(mine_hard_negatives(d, anchors, positives, extra, o)));
    }
    SUBCASE("a model scoring by distance is refused") {
        RecordingModel euclidean;
        euclidean.similarity = "euclidean";
        CHECK(
            error_message([&] { mine_hard_negatives(d, euclidean); }) ==
            "mine_hard_negatives: the model's similarity_fn_name: expected cosine or dot, found 'euclidean'");
    }
}

TEST_CASE("mine_hard_negatives with st-clip-tiny: text anchors, image positives, a mixed corpus") {
    const auto dir = testing::test_data("models/st-clip-tiny");
    if (!dir) return;
    const auto model = SentenceTransformer<Cpu>::load(*dir);
    std::ifstream in(*dir / "manifest.json");
    const auto manifest = json::parse(in);
    const auto captions = manifest.at("texts").get<std::vector<std::string>>();
    std::vector<data::ImageRef> images;
    for (const auto& p : manifest.at("images"))
        images.push_back(data::image_file(*dir / p.get<std::string>()));
    const std::vector<std::string> anchors(captions.begin(), captions.begin() + 3);
    const data::Dataset d({data::Column("caption", anchors), data::Column("image", images)});
    const std::vector<data::Cell> extra = {captions[3], captions[4], data::Cell(images[0]), captions[5]};
    MineHardNegativesOptions o;
    o.corpus = data::Column("corpus", extra);
    o.num_negatives = 2;
    o.output_scores = true;
    const auto m = mine_hard_negatives(d, model, o);
    REQUIRE(m.size() == 6);
    CHECK(m.dataset.column("image").type() == data::ColumnType::image);
    CHECK(m.dataset.column("negative").type() == data::ColumnType::mixed);
    EncodeOptions unit;
    unit.normalize_embeddings = true;
    const auto same = mine_hard_negatives(d, model.encode(anchors, unit), model.encode(images, unit),
                                          model.encode(extra, unit), o);
    CHECK(joined_rows(m) == joined_rows(same));
    REQUIRE(m.scores->rows.size() == same.scores->rows.size());
    for (std::size_t r = 0; r < m.size(); ++r)
        for (std::size_t k = 0; k < 2; ++k)
            CHECK(std::abs(m.scores->rows[r][k] - same.scores->rows[r][k]) < 1e-5);
}

TEST_CASE("mine_hard_negatives: bad input is a tandem::Error saying what was expected and found") {
    const auto fails = [](const MineHardNegativesOptions& o) {
        return error_message([&] { mine_worked(o); });
    };
    MineHardNegativesOptions o;
    o.anchor_column_name = "question";
    CHECK(fails(o) ==
          "mine_hard_negatives: anchor_column_name: no column named 'question'; the columns are ['anchor', "
          "'positive']");
    o = {};
    o.positive_column_name = "answer";
    CHECK(fails(o) ==
          "mine_hard_negatives: positive_column_name: no column named 'answer'; the columns are ['anchor', "
          "'positive']");
    o = {};
    o.positive_column_name = "anchor";
    CHECK(fails(o) ==
          "mine_hard_negatives: the anchor and positive columns are both 'anchor', expected two different "
          "columns");
    o = {};
    o.num_negatives = 0;
    CHECK(fails(o) == "mine_hard_negatives: num_negatives: expected at least 1, found 0");
    o = {};
    o.range_min = 5;
    o.range_max = 3;
    CHECK(fails(o) == "mine_hard_negatives: range_min: expected less than range_max (3), found 5");
    o.range_min = 1;
    CHECK(fails(o) ==
          "mine_hard_negatives: num_negatives: expected at most the 2 candidates that range_min 1 and "
          "range_max 3 "
          "leave, found 3");
    o = {};
    o.output_format = "triplets";
    CHECK(
        fails(o) ==
        "mine_hard_negatives: output_format: expected triplet, n-tuple, labeled-pair or labeled-list, found "
        "'triplets'");
    // include_positives sets the format before it is checked, as in Python.
    o.include_positives = true;
    CHECK(mine_worked(o).column_names().at(2) == "negative_1");
    o = {};
    o.sampling_strategy = "bottom";
    CHECK(fails(o) == "mine_hard_negatives: sampling_strategy: expected top or random, found 'bottom'");

    SUBCASE("datasets that hold no (anchor, positive) pairs") {
        const auto no_corpus = xt::xtensor<double, 2>(xt::zeros<double>({0, 2}));
        CHECK(error_message([&] { mine_hard_negatives(pairs({}, {}), no_corpus, no_corpus); }) ==
              "mine_hard_negatives: the dataset is empty, expected (anchor, positive) rows");
        const data::Dataset one({data::Column("text", std::vector<std::string>{"a"})});
        CHECK(error_message([&] { mine_hard_negatives(one, at_angles({0}), at_angles({0})); }) ==
              "mine_hard_negatives: positive_column_name: expected a dataset of at least two columns to take "
              "column 1 by default, found 1 ['text']");
        const data::Dataset labelled({data::Column("text", std::vector<std::string>{"a"}),
                                      data::Column("label", std::vector<std::int64_t>{1})});
        CHECK(error_message([&] { mine_hard_negatives(labelled, at_angles({0}), at_angles({0})); }) ==
              "mine_hard_negatives: positive column 'label' holds int64 labels, expected texts or images");
        MineHardNegativesOptions scored;
        scored.corpus = data::Column("corpus", std::vector<float>{0.5f});
        CHECK(error_message([&] {
                  mine_hard_negatives(pairs({"a"}, {"b"}), at_angles({0}), at_angles({0}), at_angles({0}),
                                      scored);
              }) ==
              "mine_hard_negatives: corpus column 'corpus' holds float scores, expected texts or images");
    }
    SUBCASE("embeddings that do not fit the dataset") {
        CHECK(error_message([&] {
                  mine_hard_negatives(worked, at_angles({0, 90}), worked_positives);
              }) == "mine_hard_negatives: anchor_embeddings: expected 5 rows, one per dataset row, found 2");
        const xt::xtensor<double, 2> wide = xt::zeros<double>({5, 3});
        CHECK(
            error_message([&] { mine_hard_negatives(worked, worked_anchors, wide); }) ==
            "mine_hard_negatives: positive_embeddings: expected 2 columns as the anchor embeddings, found 3");
        MineHardNegativesOptions with_corpus;
        with_corpus.corpus = data::Column("docs", std::vector<std::string>{"x", "y"});
        CHECK(error_message([&] { mine_worked(with_corpus); }) ==
              "mine_hard_negatives: corpus_embeddings: expected 2 rows, one per row of options.corpus, found "
              "0");
        CHECK(error_message([&] {
                  mine_hard_negatives(worked, worked_anchors, worked_positives, at_angles({0}), {});
              }) ==
              "mine_hard_negatives: corpus_embeddings: expected 0 rows, one per row of options.corpus, found "
              "1");
        auto with_nan = worked_positives;
        with_nan(3, 1) = std::numeric_limits<double>::quiet_NaN();
        CHECK(error_message([&] { mine_hard_negatives(worked, worked_anchors, with_nan); }) ==
              "mine_hard_negatives: positive_embeddings row 3, column 1: expected a finite value, found nan");
    }
}
