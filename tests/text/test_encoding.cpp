#include <tandem/text/encoding.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace tandem::text;

using Ids = std::vector<uint32_t>;

TEST_CASE("truncate keeps max_length tokens and windows the rest with a stride") {
    auto e = Encoding::from_ids({1, 2, 3, 4, 5, 6, 7});
    e.truncate(3, 1);
    CHECK(e.ids == Ids{1, 2, 3});
    // Windows of 3 starting every 2 tokens until one reaches the end.
    REQUIRE(e.overflowing.size() == 2);
    CHECK(e.overflowing[0].ids == Ids{3, 4, 5});
    CHECK(e.overflowing[1].ids == Ids{5, 6, 7});

    auto left = Encoding::from_ids({1, 2, 3, 4, 5});
    left.truncate(2, 0, Direction::Left);
    CHECK(left.ids == Ids{4, 5});
    REQUIRE(left.overflowing.size() == 2);
    CHECK(left.overflowing[0].ids == Ids{2, 3});
    CHECK(left.overflowing[1].ids == Ids{1});

    auto all = Encoding::from_ids({1, 2});
    all.truncate(0);
    CHECK(all.ids.empty());
    CHECK(all.overflowing[0].ids == Ids{1, 2});

    auto short_one = Encoding::from_ids({1, 2});
    short_one.truncate(5);
    CHECK(short_one.ids == Ids{1, 2});
    CHECK(short_one.overflowing.empty());
    CHECK_THROWS_AS(Encoding::from_ids({1, 2, 3}).truncate(2, 2), tandem::Error);
}

TEST_CASE("pad adds pad tokens with attention 0 on either side") {
    auto e = Encoding::from_ids({7, 8}, 1);
    e.pad(4, 0, 2);
    CHECK(e.ids == Ids{7, 8, 0, 0});
    CHECK(e.type_ids == Ids{1, 1, 2, 2});
    CHECK(e.attention_mask == Ids{1, 1, 0, 0});
    CHECK(e.special_tokens_mask == Ids{0, 0, 1, 1});
    auto l = Encoding::from_ids({7, 8});
    l.pad(3, 9, 0, Direction::Left);
    CHECK(l.ids == Ids{9, 7, 8});
    CHECK(l.attention_mask == Ids{0, 1, 1});
}
