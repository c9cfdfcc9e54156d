// Post-processors: add the special tokens a model expects around one text or a
// pair, and set type ids. Mirrors HF `tokenizers.processors` (TemplateProcessing,
// BertProcessing, RobertaProcessing, ByteLevel, Sequence).
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/text/encoding.hpp>
#include <tandem/text/model.hpp>

#include <memory>
#include <string>
#include <vector>

namespace tandem::text {

using detail::json;

class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    // How many tokens process() adds with special tokens on.
    virtual size_t added_tokens(bool is_pair) const = 0;
    virtual Encoding process(Encoding a, const Encoding* b, bool add_special_tokens) const = 0;
    virtual json to_json() const = 0;
};

using PostProcessorPtr = std::shared_ptr<const PostProcessor>;

// What processors do without special tokens: the texts one after the other, each
// keeping the type id it was encoded with (1 for the second text, as in HF).
inline Encoding concatenate(Encoding a, const Encoding* b) {
    if (b) a.append(*b);
    return a;
}

class TemplateProcessing final : public PostProcessor {
public:
    struct Piece {
        bool is_special;
        std::string id;  // "A"/"B" for a sequence, the special token's name otherwise
        uint32_t type_id;
    };
    struct SpecialToken {
        std::string id;
        std::vector<uint32_t> ids;
        std::vector<std::string> tokens;
    };

    TemplateProcessing(std::vector<Piece> single, std::vector<Piece> pair, std::vector<SpecialToken> specials,
                       const detail::JsonPath& at = {"TemplateProcessing", "special_tokens"})
        : single_(std::move(single)), pair_(std::move(pair)), specials_(std::move(specials)) {
        for (const auto* t : {&single_, &pair_})
            for (const auto& p : *t)
                if (p.is_special && !find(p.id))
                    at.entry(p.id).fail("template uses a special token that is not defined");
    }

    size_t added_tokens(bool is_pair) const override {
        size_t n = 0;
        for (const auto& p : is_pair ? pair_ : single_)
            if (p.is_special) n += find(p.id)->ids.size();
        return n;
    }

    Encoding process(Encoding a, const Encoding* b, bool add_special_tokens) const override {
        Encoding out;
        for (const auto& p : b ? pair_ : single_) {
            if (p.is_special) {
                if (!add_special_tokens) continue;
                for (uint32_t id : find(p.id)->ids) out.push_special(id, p.type_id);
            } else {
                const Encoding& src = (p.id == "A" || !b) ? a : *b;
                Encoding seq = src;
                seq.type_ids.assign(seq.size(), p.type_id);
                seq.overflowing.clear();
                out.append(seq);
            }
        }
        return out;
    }

    json to_json() const override {
        const auto list = [](const std::vector<Piece>& t) {
            json l = json::array();
            for (const auto& p : t)
                l.push_back(p.is_special ? json{{"SpecialToken", {{"id", p.id}, {"type_id", p.type_id}}}}
                                         : json{{"Sequence", {{"id", p.id}, {"type_id", p.type_id}}}});
            return l;
        };
        json specials = json::object();
        for (const auto& s : specials_) specials[s.id] = {{"id", s.id}, {"ids", s.ids}, {"tokens", s.tokens}};
        return {{"type", "TemplateProcessing"},
                {"single", list(single_)},
                {"pair", list(pair_)},
                {"special_tokens", specials}};
    }

    static std::shared_ptr<TemplateProcessing> from_json(const json& j, const detail::JsonPath& at) {
        const auto pieces = [&](const std::string& key) {
            const json& list = detail::json_at(j, at, key);
            if (!list.is_array()) (at / key).fail("expected an array, found ", list.type_name());
            std::vector<Piece> out;
            for (size_t i = 0; i < list.size(); ++i) {
                const auto here = (at / key)[i];
                const json& e = list[i];
                const bool special = e.is_object() && e.contains("SpecialToken");
                if (!special && !(e.is_object() && e.contains("Sequence")))
                    here.fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}, found ", e.dump());
                const json& body = e.at(special ? "SpecialToken" : "Sequence");
                out.push_back({special, detail::json_string(body, here, "id"),
                               detail::json_number<uint32_t>(body, here, "type_id", 0)});
            }
            return out;
        };
        std::vector<SpecialToken> specials;
        if (auto it = j.find("special_tokens"); it != j.end() && it->is_object()) {
            for (auto s = it->begin(); s != it->end(); ++s) {
                const auto here = (at / "special_tokens").entry(s.key());
                SpecialToken t{detail::json_string(s.value(), here, "id"), {}, {}};
                const json& ids = detail::json_at(s.value(), here, "ids");
                if (!ids.is_array()) (here / "ids").fail("expected an array of ids, found ", ids.type_name());
                for (size_t k = 0; k < ids.size(); ++k)
                    t.ids.push_back(detail::token_id(ids[k], (here / "ids")[k]));
                if (auto tk = s.value().find("tokens"); tk != s.value().end() && !tk->is_null()) {
                    if (!tk->is_array())
                        (here / "tokens")
                            .fail("expected an array of tokens, found ", detail::describe_json(*tk));
                    for (size_t k = 0; k < tk->size(); ++k)
                        t.tokens.push_back(detail::json_as<std::string>((*tk)[k], (here / "tokens")[k]));
                }
                specials.push_back(std::move(t));
            }
        }
        return std::make_shared<TemplateProcessing>(pieces("single"), pieces("pair"), std::move(specials),
                                                    at / "special_tokens");
    }

private:
    const SpecialToken* find(const std::string& id) const {
        for (const auto& s : specials_)
            if (s.id == id) return &s;
        return nullptr;
    }

    std::vector<Piece> single_, pair_;
    std::vector<SpecialToken> specials_;
};

// `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]`, the second text as type 1 (BERT), or
// `<s> A </s>` / `<s> A </s></s> B </s>` all of type 0 (RoBERTa, CLIP).
class ClsSepProcessing final : public PostProcessor {
public:
    using Token = std::pair<std::string, uint32_t>;

    ClsSepProcessing(bool roberta, Token cls, Token sep)
        : roberta_(roberta), cls_(std::move(cls)), sep_(std::move(sep)) {}

    size_t added_tokens(bool is_pair) const override { return is_pair ? (roberta_ ? 4 : 3) : 2; }

    Encoding process(Encoding a, const Encoding* b, bool add_special_tokens) const override {
        const uint32_t pair_type = roberta_ ? 0 : 1;
        if (!add_special_tokens) return concatenate(std::move(a), b);
        Encoding out;
        out.push_special(cls_.second, 0);
        a.type_ids.assign(a.size(), 0);
        a.overflowing.clear();
        out.append(a);
        out.push_special(sep_.second, 0);
        if (b) {
            if (roberta_) out.push_special(sep_.second, 0);
            Encoding second = *b;
            second.type_ids.assign(second.size(), pair_type);
            second.overflowing.clear();
            out.append(second);
            out.push_special(sep_.second, pair_type);
        }
        return out;
    }

    json to_json() const override {
        json j = {{"type", roberta_ ? "RobertaProcessing" : "BertProcessing"},
                  {"sep", {sep_.first, sep_.second}},
                  {"cls", {cls_.first, cls_.second}}};
        if (roberta_) {
            j["trim_offsets"] = false;
            j["add_prefix_space"] = false;
        }
        return j;
    }

private:
    bool roberta_;
    Token cls_, sep_;
};

// ByteLevel's post-processor only trims offsets, which tandem does not track.
class ByteLevelProcessing final : public PostProcessor {
public:
    size_t added_tokens(bool) const override { return 0; }
    Encoding process(Encoding a, const Encoding* b, bool) const override {
        return concatenate(std::move(a), b);
    }
    json to_json() const override {
        return {
            {"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    }
};

class PostProcessorSequence final : public PostProcessor {
public:
    explicit PostProcessorSequence(std::vector<PostProcessorPtr> steps) : steps_(std::move(steps)) {}
    size_t added_tokens(bool is_pair) const override {
        size_t n = 0;
        for (const auto& s : steps_) n += s->added_tokens(is_pair);
        return n;
    }
    // ByteLevel steps only trim offsets; the first other step sees both texts, any
    // later one the merged result (files pair ByteLevel with one template).
    Encoding process(Encoding a, const Encoding* b, bool add_special_tokens) const override {
        bool merged = false;
        for (const auto& step : steps_) {
            if (dynamic_cast<const ByteLevelProcessing*>(step.get())) continue;
            a = step->process(std::move(a), merged ? nullptr : b, add_special_tokens);
            merged = true;
        }
        return merged ? a : concatenate(std::move(a), b);
    }
    json to_json() const override {
        json list = json::array();
        for (const auto& s : steps_) list.push_back(s->to_json());
        return {{"type", "Sequence"}, {"processors", list}};
    }

private:
    std::vector<PostProcessorPtr> steps_;
};

inline PostProcessorPtr post_processor_from_json(const json& j, const detail::JsonPath& at) {
    if (j.is_null()) return nullptr;
    const std::string type = detail::json_type(j, at);
    if (type == "TemplateProcessing") return TemplateProcessing::from_json(j, at);
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        const auto token = [&](const std::string& key) {
            const json& t = detail::json_at(j, at, key);
            if (!t.is_array() || t.size() != 2)
                (at / key).fail("expected [token, id], found ", detail::describe_json(t));
            return ClsSepProcessing::Token(detail::json_as<std::string>(t[0], (at / key)[0]),
                                           detail::token_id(t[1], (at / key)[1]));
        };
        return std::make_shared<ClsSepProcessing>(type == "RobertaProcessing", token("cls"), token("sep"));
    }
    if (type == "ByteLevel") return std::make_shared<ByteLevelProcessing>();
    if (type == "Sequence") {
        const json& list = detail::json_at(j, at, "processors");
        if (!list.is_array()) (at / "processors").fail("expected an array, found ", list.type_name());
        std::vector<PostProcessorPtr> steps;
        for (size_t i = 0; i < list.size(); ++i)
            if (auto p = post_processor_from_json(list[i], (at / "processors")[i]))
                steps.push_back(std::move(p));
        return std::make_shared<PostProcessorSequence>(std::move(steps));
    }
    (at / "type").fail("unknown post-processor type '", type, "'");
}

}  // namespace tandem::text
