#include <tandem/data/dataset.hpp>

#include <doctest/doctest.h>

#include "../io/temp_dir.hpp"

#include <string>
#include <vector>

using namespace tandem::data;
using tandem::testing::error_message;

namespace {

Dataset pairs() {
    return Dataset({Column("anchor", std::vector<std::string>{"a0", "a1", "a2", "a3", "a4"}),
                    Column("score", std::vector<float>{0.5f, 0.25f, 1.0f, 0.0f, 0.75f}),
                    Column("positive", std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"})});
}

std::string text(const Dataset& d, std::size_t row, std::size_t col) {
    return std::get<std::string>(d.cell(row, col));
}

}  // namespace

TEST_CASE("Dataset: the label column is found by sentence-transformers' rule, wherever it stands") {
    const Dataset d = pairs();
    CHECK(d.size() == 5);
    REQUIRE(d.label_column() == 1u);
    CHECK(d.input_columns() == std::vector<std::size_t>{0, 2});
    // "label" comes before "score" in the rule's order.
    const Dataset both({Column("score", std::vector<float>{1.0f}), Column("x", std::vector<std::string>{"t"}),
                        Column("label", std::vector<std::int64_t>{3})});
    CHECK(both.label_column() == 2u);
    CHECK(both.input_columns() == std::vector<std::size_t>{0, 1});
    const Dataset none({Column("a", std::vector<std::string>{"t"})});
    CHECK_FALSE(none.label_column().has_value());
}

TEST_CASE("Dataset: columns of unequal length or repeated names are errors") {
    CHECK(error_message([] {
              Dataset({Column("a", std::vector<std::string>{"x", "y"}),
                       Column("b", std::vector<std::string>{"z"})});
          }) == "Dataset: column 'b' has 1 rows, expected 2 as column 'a'");
    CHECK(
        error_message([] {
            Dataset({Column("a", std::vector<std::string>{"x"}), Column("a", std::vector<std::string>{"z"})});
        }) == "Dataset: column 'a' appears twice");
}

TEST_CASE("Dataset: select_columns, rename_column and remove_columns") {
    const Dataset d = pairs();
    const auto s = d.select_columns({"positive", "anchor"});
    CHECK(s.column_names() == std::vector<std::string>{"positive", "anchor"});
    CHECK(text(s, 3, 0) == "p3");
    const auto r = d.rename_column("positive", "negative");
    CHECK(r.column_names() == std::vector<std::string>{"anchor", "score", "negative"});
    CHECK(d.column_names() == std::vector<std::string>{"anchor", "score", "positive"});  // unchanged
    CHECK(error_message([&] { d.rename_column("anchor", "score"); }) ==
          "rename_column: a column named 'score' already exists");
    const auto m = d.remove_columns({"score"});
    CHECK(m.column_names() == std::vector<std::string>{"anchor", "positive"});
    CHECK_FALSE(m.label_column().has_value());
    CHECK(error_message([&] { d.remove_columns({"nope"}); }) ==
          "Dataset: no column named 'nope'; the columns are ['anchor', 'score', 'positive']");
}

TEST_CASE("Dataset: select, shuffle and train_test_split map rows without copying cells") {
    const Dataset d = pairs();
    const auto s = d.select({4, 1, 1});
    REQUIRE(s.size() == 3);
    CHECK(text(s, 0, 0) == "a4");
    CHECK(text(s, 2, 2) == "p1");
    CHECK(s.score(0, 1) == 0.75f);
    // Selecting from a selection composes the mappings.
    CHECK(text(s.select({2, 0}), 1, 0) == "a4");
    CHECK(error_message([&] { d.select({5}); }) == "Dataset: row 5 is out of range (5 rows)");

    const auto a = d.shuffle(7), b = d.shuffle(7), c = d.shuffle(8);
    std::vector<std::string> order_a, order_b, order_c;
    for (std::size_t i = 0; i < 5; ++i) {
        order_a.push_back(text(a, i, 0));
        order_b.push_back(text(b, i, 0));
        order_c.push_back(text(c, i, 0));
    }
    CHECK(order_a == order_b);
    CHECK(order_a != order_c);
    auto sorted = order_a;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<std::string>{"a0", "a1", "a2", "a3", "a4"});

    // 0.3 of 5 rows is ceil(1.5) = 2 test rows, the first two of the permutation.
    const auto split = d.train_test_split(0.3, 11);
    CHECK(split["test"].size() == 2);
    CHECK(split["train"].size() == 3);
    const auto perm = permutation(5, 11);
    CHECK(text(split["test"], 0, 0) == "a" + std::to_string(perm[0]));
    CHECK(text(split["train"], 0, 0) == "a" + std::to_string(perm[2]));
    CHECK(d.train_test_split(1, 0)["test"].size() == 1);
    CHECK(error_message([&] { d.train_test_split(5, 0); }) ==
          "train_test_split: test_size 5 leaves no training rows of 5");
}

TEST_CASE("Dataset: permutation is a seeded Fisher-Yates over every index") {
    for (std::size_t n : {0u, 1u, 2u, 10u, 1000u}) {
        auto p = permutation(n, 3, 1);
        CHECK(p == permutation(n, 3, 1));
        std::sort(p.begin(), p.end());
        for (std::size_t i = 0; i < n; ++i) CHECK(p[i] == i);
    }
    CHECK(permutation(50, 3, 1) != permutation(50, 3, 2));
}

TEST_CASE("Dataset: concatenation and DatasetDict") {
    const Dataset d = pairs();
    const auto joined = concatenate({d.select({1, 0}), d.select({4})});
    REQUIRE(joined.size() == 3);
    CHECK(text(joined, 0, 0) == "a1");
    CHECK(text(joined, 2, 2) == "p4");
    CHECK(joined.score(2, 1) == 0.75f);
    CHECK(error_message([&] {
              concatenate({d, d.remove_columns({"score"})});
          }) == "concatenate: dataset 1 has other columns than dataset 0");

    DatasetDict dict{{"nli", d}, {"sts", d.select({0, 1})}};
    CHECK(dict.size() == 2);
    CHECK(dict.total_rows() == 7);
    CHECK(dict.locate(4) == std::pair<std::size_t, std::size_t>{0, 4});
    CHECK(dict.locate(6) == std::pair<std::size_t, std::size_t>{1, 1});
    CHECK(dict["sts"].size() == 2);
    CHECK(error_message([&] { dict.insert("nli", d); }) ==
          "DatasetDict: a dataset named 'nli' already exists");
}

TEST_CASE("Dataset: a mixed column keeps each cell's modality") {
    std::vector<Cell> cells = {std::string("a photo of a cat"), encoded_image({1, 2, 3}, "cat.jpg")};
    const Dataset d({Column("query", std::move(cells))});
    CHECK(d.column(0).type() == ColumnType::mixed);
    CHECK(modality(d.cell(0, 0)) == Modality::text);
    CHECK(modality(d.cell(1, 0)) == Modality::image);
    CHECK(describe(std::get<ImageRef>(d.cell(1, 0))) == "cat.jpg");
    CHECK(error_message([&] { d.column(0).label(0); }) ==
          "column 'query': expected int64 labels, found mixed text/image");
}
