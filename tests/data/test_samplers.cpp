#include <tandem/data/samplers.hpp>

#include <doctest/doctest.h>

#include "../io/temp_dir.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using namespace tandem::data;
using tandem::testing::error_message;

namespace {

Dataset numbered(std::size_t n) {
    std::vector<std::string> a, b;
    for (std::size_t i = 0; i < n; ++i)
        a.push_back("a" + std::to_string(i)), b.push_back("b" + std::to_string(i));
    return Dataset({Column("anchor", std::move(a)), Column("positive", std::move(b))});
}

std::vector<std::size_t> flat(const Batches& batches) {
    std::vector<std::size_t> rows;
    for (const auto& b : batches) rows.insert(rows.end(), b.begin(), b.end());
    return rows;
}

void check_each_row_once(const Batches& batches, std::size_t n) {
    auto rows = flat(batches);
    std::sort(rows.begin(), rows.end());
    REQUIRE(rows.size() == n);
    for (std::size_t i = 0; i < n; ++i) CHECK(rows[i] == i);
}

// Texts that repeat a lot: anchor i is one of 5 values, positive one of 7, label one of 2.
Dataset repetitive(std::size_t n) {
    std::vector<std::string> a, p;
    std::vector<std::int64_t> l;
    for (std::size_t i = 0; i < n; ++i) {
        a.push_back("q" + std::to_string(i % 5));
        p.push_back("d" + std::to_string((i * 3) % 7));
        l.push_back(static_cast<std::int64_t>(i % 2));
    }
    return Dataset(
        {Column("anchor", std::move(a)), Column("positive", std::move(p)), Column("label", std::move(l))});
}

template <class S>
void check_no_duplicates(const S& sampler, const Dataset& d) {
    for (const auto& batch : sampler.batches()) {
        std::set<std::string> seen;
        for (std::size_t row : batch)
            for (std::size_t c : d.input_columns()) {
                const auto value = std::get<std::string>(d.cell(row, c));
                CHECK_MESSAGE(seen.insert(value).second, "value " << value << " repeats in a batch");
            }
    }
}

}  // namespace

TEST_CASE("DefaultBatchSampler: every row once per epoch, seeded, a new order each epoch") {
    const Dataset d = numbered(10);
    DefaultBatchSampler s(d, {.batch_size = 3, .drop_last = false, .seed = 5});
    CHECK(s.size() == 4);
    const auto e0 = s.batches();
    REQUIRE(e0.size() == 4);
    CHECK(e0.back().size() == 1);
    check_each_row_once(e0, 10);
    CHECK(s.batches() == e0);
    CHECK(DefaultBatchSampler(d, {.batch_size = 3, .seed = 5}).batches() == e0);
    s.set_epoch(1);
    const auto e1 = s.batches();
    check_each_row_once(e1, 10);
    CHECK(flat(e1) != flat(e0));
    s.set_epoch(0);
    CHECK(s.batches() == e0);
    // The order is the seeded permutation of the epoch.
    CHECK(flat(e0) == permutation(10, 5, 0));

    DefaultBatchSampler dropped(d, {.batch_size = 3, .drop_last = true, .seed = 5});
    CHECK(dropped.size() == 3);
    const auto b = dropped.batches();
    REQUIRE(b.size() == 3);
    for (const auto& batch : b) CHECK(batch.size() == 3);
}

TEST_CASE("Samplers: an empty dataset and a batch larger than the dataset with drop_last are errors") {
    CHECK(error_message([] { DefaultBatchSampler(Dataset{}, {.batch_size = 2}); }) ==
          "DefaultBatchSampler: the dataset is empty, expected at least one row");
    CHECK(
        error_message([] { NoDuplicatesBatchSampler(numbered(5), {.batch_size = 8, .drop_last = true}); }) ==
        "NoDuplicatesBatchSampler: batch_size 8 with drop_last leaves no batch: the dataset has 5 rows");
    CHECK(error_message([] { DefaultBatchSampler(numbered(5), {.batch_size = 0}); }) ==
          "DefaultBatchSampler: batch_size must be at least 1, found 0");
    // Without drop_last a batch larger than the dataset is one short batch.
    CHECK(DefaultBatchSampler(numbered(5), {.batch_size = 8}).batches().size() == 1);
}

TEST_CASE("NoDuplicatesBatchSampler: no value repeats in a batch on data with many repeats") {
    const Dataset d = repetitive(40);
    NoDuplicatesBatchSampler s(d, {.batch_size = 4, .drop_last = false, .seed = 1});
    CHECK(s.size() == 10);
    const auto e0 = s.batches();
    check_each_row_once(e0, 40);  // without drop_last the first pass keeps every row
    check_no_duplicates(s, d);
    CHECK(s.batches() == e0);
    s.set_epoch(3);
    check_each_row_once(s.batches(), 40);
    check_no_duplicates(s, d);
    CHECK(s.batches() != e0);

    // The label column takes no part: both labels repeat in every full batch.
    for (const auto& batch : e0) {
        if (batch.size() < 4) continue;
        std::set<std::int64_t> labels;
        for (std::size_t r : batch) labels.insert(d.label(r, 2));
        CHECK(labels.size() <= 2);
    }
}

TEST_CASE("NoDuplicatesBatchSampler: a hand-worked pass defers clashing rows without reordering them") {
    // Anchors x, x, y, x: in permutation order, each batch of 2 takes the first free row,
    // then the first later row whose values do not clash.
    const Dataset d({Column("a", std::vector<std::string>{"x", "x", "y", "x"}),
                     Column("b", std::vector<std::string>{"p0", "p1", "p2", "p3"})});
    const auto order = permutation(4, 9, 0);
    NoDuplicatesBatchSampler s(d, {.batch_size = 2, .drop_last = false, .seed = 9});
    // Expected, worked by hand from the rule: the only row without "x" is 2.
    std::vector<std::size_t> xs;
    for (std::size_t r : order)
        if (r != 2) xs.push_back(r);
    Batches expected;
    const auto pos2 = std::find(order.begin(), order.end(), 2) - order.begin();
    const auto first_x_pos = std::find(order.begin(), order.end(), xs[0]) - order.begin();
    if (pos2 < first_x_pos) {
        expected = {{2, xs[0]}, {xs[1]}, {xs[2]}};
    } else {
        expected = {{xs[0], 2}, {xs[1]}, {xs[2]}};
    }
    CHECK(s.batches() == expected);
    // With drop_last one pass gives 1 of the 2 advertised batches; a second pass tops it up.
    NoDuplicatesBatchSampler dropped(d, {.batch_size = 2, .drop_last = true, .seed = 9});
    const auto b = dropped.batches();
    REQUIRE(b.size() == 2);
    CHECK(b[0] == expected[0]);
    CHECK(std::count(b[1].begin(), b[1].end(), 2) == 1);
}

TEST_CASE("NoDuplicatesHashedBatchSampler: the same batches from 64-bit xxHash digests") {
    const Dataset d = repetitive(37);
    for (bool drop_last : {false, true}) {
        NoDuplicatesBatchSampler plain(d, {.batch_size = 4, .drop_last = drop_last, .seed = 2});
        NoDuplicatesHashedBatchSampler hashed(d, {.batch_size = 4, .drop_last = drop_last, .seed = 2});
        for (std::uint64_t epoch : {0u, 1u}) {
            plain.set_epoch(epoch);
            hashed.set_epoch(epoch);
            CHECK(plain.batches() == hashed.batches());
            check_no_duplicates(hashed, d);
        }
    }
    NoDuplicatesHashedBatchSampler hashed(d, {.batch_size = 4});
    // XXH64("q0", seed 0), as `xxhash.xxh64_intdigest("q0")` gives it.
    CHECK(hashed.hash(0, 0) == XXH64("q0", 2, 0));
    CHECK(hashed.hash(5, 0) == hashed.hash(0, 0));
    CHECK(hashed.hash(0, 0) != hashed.hash(1, 0));

    // Image cells compare by their bytes: two cells with equal bytes never share a batch.
    std::vector<ImageRef> images = {encoded_image({1, 2}, "a"), encoded_image({1, 2}, "b"),
                                    encoded_image({3}, "c")};
    const Dataset imgs({Column("image", std::move(images))});
    NoDuplicatesHashedBatchSampler by_bytes(imgs, {.batch_size = 2});
    for (const auto& batch : by_bytes.batches()) CHECK_FALSE((batch.size() == 2 && batch[0] + batch[1] == 1));
}

TEST_CASE("GroupByLabelBatchSampler: pairs of a label, labels alternating, as sentence-transformers v6") {
    // Labels A x5, B x4, C x2 (D x1 is left out): A is cut to 4 rows, pairs per label
    // [2, 2, 1], the stream stops when fewer than 2 labels remain: 2 * (2 + 2 + 1) = 10 rows.
    std::vector<std::int64_t> labels = {0, 1, 0, 2, 1, 0, 3, 1, 0, 2, 0, 1};
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < labels.size(); ++i) texts.push_back("t" + std::to_string(i));
    const Dataset d({Column("text", texts), Column("label", labels)});
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        GroupByLabelBatchSampler s(d, {.batch_size = 4, .drop_last = false, .seed = seed});
        CHECK(s.size() == 2);  // the last 2 rows make a batch of fewer than 4: dropped
        const auto batches = s.batches();
        REQUIRE(batches.size() == 2);
        std::set<std::size_t> seen;
        for (const auto& b : batches) {
            REQUIRE(b.size() == 4);
            for (std::size_t r : b) CHECK(seen.insert(r).second);
            CHECK(labels[b[0]] == labels[b[1]]);
            CHECK(labels[b[2]] == labels[b[3]]);
            CHECK(labels[b[0]] != labels[b[2]]);
        }
        for (std::size_t r : seen) CHECK(labels[r] != 3);
    }
    // Two labels of 4: rounds give A A B B, then the swap keeps B from following B.
    const Dataset two({Column("text", std::vector<std::string>(8, "t")),
                       Column("label", std::vector<std::int64_t>{0, 0, 0, 0, 1, 1, 1, 1})});
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        GroupByLabelBatchSampler s(two, {.batch_size = 6, .drop_last = false, .seed = seed});
        const auto b = s.batches();
        CHECK(s.size() == 1);  // 8 rows: one batch of 6, the last 2 (< 4) dropped
        REQUIRE(b.size() == 1);
        const auto label = [&](std::size_t k) { return two.label(b[0][k], 1); };
        CHECK(label(0) != label(2));
        CHECK(label(2) != label(4));
    }
    GroupByLabelBatchSampler s(d, {.batch_size = 4, .seed = 1});
    const auto e0 = s.batches();
    s.set_epoch(1);
    CHECK(s.batches() != e0);
}

TEST_CASE("GroupByLabelBatchSampler: errors") {
    const Dataset d({Column("text", std::vector<std::string>{"a", "b", "c", "d"}),
                     Column("score", std::vector<float>{0, 0, 1, 1})});
    CHECK(error_message([&] { GroupByLabelBatchSampler(d, {.batch_size = 4}); }) ==
          "GroupByLabelBatchSampler: column 'score' must hold int64 labels, found float scores");
    CHECK(error_message([&] { GroupByLabelBatchSampler(d.remove_columns({"score"}), {.batch_size = 4}); }) ==
          "GroupByLabelBatchSampler: expected a label column (label, labels, score or scores), found none "
          "among the "
          "dataset's columns");
    CHECK(error_message([&] { GroupByLabelBatchSampler(d, {.batch_size = 3}); }) ==
          "GroupByLabelBatchSampler: batch_size must be an even number >= 4, found 3");
}

TEST_CASE("RoundRobinBatchSampler and ProportionalBatchSampler over a DatasetDict") {
    const DatasetDict dict{{"big", numbered(5)}, {"small", numbered(2)}};
    std::vector<AnyBatchSampler> children = {DefaultBatchSampler(dict[0], {.batch_size = 2, .seed = 4}),
                                             DefaultBatchSampler(dict[1], {.batch_size = 2, .seed = 4})};
    const auto big = DefaultBatchSampler(dict[0], {.batch_size = 2, .seed = 4}).batches();
    // Round robin: big's first batch, small's only batch (rows shifted by 5), then big
    // cannot be followed by small: stop.
    RoundRobinBatchSampler rr(dict, children, 4);
    CHECK(rr.size() == 2);
    const auto r = rr.batches();
    REQUIRE(r.size() == 2);
    CHECK(r[0] == big[0]);
    auto small = r[1];
    std::sort(small.begin(), small.end());
    CHECK(small == std::vector<std::size_t>{5, 6});

    // Proportional: every batch of every dataset, each dataset's batches in their order.
    ProportionalBatchSampler prop(dict, children, 4);
    CHECK(prop.size() == 4);
    const auto p = prop.batches();
    REQUIRE(p.size() == 4);
    check_each_row_once(p, 7);
    Batches from_big;
    for (const auto& b : p)
        if (b[0] < 5) from_big.push_back(b);
    CHECK(from_big == big);
    // Epochs reach the children.
    prop.set_epoch(1);
    rr.set_epoch(1);
    const auto big1 = [&] {
        DefaultBatchSampler s(dict[0], {.batch_size = 2, .seed = 4});
        s.set_epoch(1);
        return s.batches();
    }();
    CHECK(rr.batches()[0] == big1[0]);
    CHECK(error_message([&] { RoundRobinBatchSampler(dict, {children[0]}); }) ==
          "RoundRobinBatchSampler: expected one sampler per dataset (2), found 1");
}
