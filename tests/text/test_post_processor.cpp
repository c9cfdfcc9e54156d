#include <tandem/text/post_processor.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace tandem;
using namespace tandem::text;

using Ids = std::vector<uint32_t>;

TEST_CASE("BERT and RoBERTa processing around one text and a pair") {
    const ClsSepProcessing bert(false, {"[CLS]", 101}, {"[SEP]", 102});
    const auto a = Encoding::from_ids({5, 6}), b = Encoding::from_ids({7});
    CHECK(bert.process(a, nullptr, true).ids == Ids{101, 5, 6, 102});
    const auto pair = bert.process(a, &b, true);
    CHECK(pair.ids == Ids{101, 5, 6, 102, 7, 102});
    CHECK(pair.type_ids == Ids{0, 0, 0, 0, 1, 1});
    CHECK(bert.process(a, &b, false).ids == Ids{5, 6, 7});
    CHECK(bert.added_tokens(true) == 3);

    const ClsSepProcessing roberta(true, {"<s>", 0}, {"</s>", 2});
    const auto rp = roberta.process(a, &b, true);
    CHECK(rp.ids == Ids{0, 5, 6, 2, 2, 7, 2});
    CHECK(rp.type_ids == Ids(7, 0));
    CHECK(roberta.added_tokens(true) == 4);
}

TEST_CASE("TemplateProcessing follows its single and pair templates") {
    const auto j = json::parse(R"({"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1, 2], "tokens": ["[", "CLS]"]},
                           "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}})");
    const auto p = post_processor_from_json(j, {"tokenizer.json", "post_processor"});
    const auto a = Encoding::from_ids({9}), b = Encoding::from_ids({8, 8});
    CHECK(p->process(a, nullptr, true).ids == Ids{1, 2, 9});
    CHECK(p->added_tokens(false) == 2);
    const auto pair = p->process(a, &b, true);
    CHECK(pair.ids == Ids{9, 3, 8, 8, 3});
    CHECK(pair.type_ids == Ids{0, 0, 1, 1, 1});
    CHECK(pair.special_tokens_mask == Ids{0, 1, 0, 0, 1});
    CHECK(p->process(a, &b, false).type_ids == Ids{0, 1, 1});
    CHECK(p->to_json() == j);

    auto missing = j;
    missing["special_tokens"].erase("[SEP]");
    CHECK_THROWS_WITH_AS(
        post_processor_from_json(missing, {"tokenizer.json", "post_processor"}),
        doctest::Contains("key 'post_processor.special_tokens[\"[SEP]\"]': template uses a special token"),
        Error);
}

TEST_CASE("without special tokens the second text keeps type 1; ByteLevel steps pass through") {
    const ClsSepProcessing roberta(true, {"<s>", 0}, {"</s>", 2});
    const auto a = Encoding::from_ids({5}), b = Encoding::from_ids({7}, 1);
    CHECK(roberta.process(a, &b, false).type_ids == Ids{0, 1});
    const auto seq = post_processor_from_json(json::parse(R"({"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
        {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}]})"),
                                              {"tokenizer.json", "post_processor"});
    CHECK(seq->process(a, &b, true).ids == Ids{2, 5, 3, 7, 3});
    CHECK(seq->process(a, &b, true).type_ids == Ids{0, 0, 0, 1, 1});
    CHECK(seq->added_tokens(true) == 3);
}
