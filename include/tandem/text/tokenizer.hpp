// tandem::Tokenizer: loads a Hugging Face tokenizer.json (or a folder with one,
// or the older vocab.json + merges.txt / vocab.txt layouts) and runs the HF
// pipeline: added tokens → normalizer → pre-tokenizer → model → post-processor,
// then truncation and padding. Mirrors HF `tokenizers.Tokenizer`, id for id.
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/core/error.hpp>
#include <tandem/text/added_vocabulary.hpp>
#include <tandem/text/bpe.hpp>
#include <tandem/text/decoder.hpp>
#include <tandem/text/detail/utf8.hpp>
#include <tandem/text/encoding.hpp>
#include <tandem/text/model.hpp>
#include <tandem/text/normalizer.hpp>
#include <tandem/text/post_processor.hpp>
#include <tandem/text/pre_tokenizer.hpp>
#include <tandem/text/unigram.hpp>
#include <tandem/text/word_level.hpp>
#include <tandem/text/wordpiece.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

namespace text {

struct TruncationParams {
    size_t max_length = 512;
    size_t stride = 0;
    TruncationStrategy strategy = TruncationStrategy::LongestFirst;
    Direction direction = Direction::Right;
};

struct PaddingParams {
    std::optional<size_t> fixed_length;  // empty: pad a batch to its longest encoding
    size_t pad_to_multiple_of = 0;
    uint32_t pad_id = 0;
    uint32_t pad_type_id = 0;
    std::string pad_token = "[PAD]";
    Direction direction = Direction::Right;
};

// What encode() does with bytes that are not UTF-8.
enum class InvalidUtf8 { Error, Replace };

inline ModelPtr model_from_json(const json& j, const detail::JsonPath& at) {
    if (!j.is_object()) at.fail("expected an object, found ", j.type_name());
    std::string type;
    if (auto it = j.find("type"); it != j.end()) {
        if (!it->is_string()) (at / "type").fail("expected a string, found ", it->type_name());
        type = it->get<std::string>();
    } else if (j.contains("merges")) {  // files written before models carried a type
        type = "BPE";
    } else if (j.contains("vocab") && j["vocab"].is_array()) {
        type = "Unigram";
    } else if (j.contains("continuing_subword_prefix")) {
        type = "WordPiece";
    } else {
        (at / "type").fail("missing");
    }
    if (type == "BPE") return BPE::from_json(j, at);
    if (type == "WordPiece") return WordPiece::from_json(j, at);
    if (type == "Unigram") return Unigram::from_json(j, at);
    if (type == "WordLevel") return WordLevel::from_json(j, at);
    (at / "type").fail("unknown model type '", type, "': expected BPE, WordPiece, Unigram or WordLevel");
}

}  // namespace text

class Tokenizer {
public:
    using Encoding = text::Encoding;

    // An empty WordLevel model, for a tokenizer whose vocabulary a trainer will learn.
    Tokenizer() : model_(std::make_shared<text::WordLevel>(detail::Vocab{}, "[UNK]")) {}
    explicit Tokenizer(text::ModelPtr model) : model_(std::move(model)) {
        if (!model_) detail::throw_error("Tokenizer: the model must not be null");
    }

    // A tokenizer.json, or a folder holding tokenizer.json, vocab.json + merges.txt, or vocab.txt.
    static Tokenizer from_file(const std::filesystem::path& path) {
        if (std::filesystem::is_directory(path)) return from_folder(path);
        return from_json(detail::read_json_file(path), path.string());
    }

    static Tokenizer from_json(const text::json& j, const std::string& file = "tokenizer.json") {
        const tandem::detail::JsonPath root{file, ""};
        if (!j.is_object()) root.fail("expected a JSON object, found ", j.type_name());
        auto model_it = j.find("model");
        if (model_it == j.end() || model_it->is_null()) (root / "model").fail("missing");
        Tokenizer t(text::model_from_json(*model_it, root / "model"));
        const auto get = [&](const char* key) -> const text::json& {
            static const text::json null;
            auto it = j.find(key);
            return it == j.end() ? null : *it;
        };
        t.normalizer_ = text::normalizer_from_json(get("normalizer"), root / "normalizer");
        t.pre_tokenizer_ = text::pre_tokenizer_from_json(get("pre_tokenizer"), root / "pre_tokenizer");
        t.post_processor_ = text::post_processor_from_json(get("post_processor"), root / "post_processor");
        t.decoder_ = text::decoder_from_json(get("decoder"), root / "decoder");
        if (const auto& added = get("added_tokens"); !added.is_null()) {
            if (!added.is_array())
                (root / "added_tokens")
                    .fail("expected an array, found ", tandem::detail::describe_json(added));
            for (size_t i = 0; i < added.size(); ++i)
                t.added_.add(text::added_token_from_json(added[i], (root / "added_tokens")[i]));
        }
        t.added_.rebuild(t.normalizer_.get());
        if (const auto& tr = get("truncation"); !tr.is_null())
            t.truncation_ = t.truncation_from_json(tr, root / "truncation");
        if (const auto& pad = get("padding"); !pad.is_null())
            t.padding_ = padding_from_json(pad, root / "padding");
        return t;
    }

    static Tokenizer from_folder(const std::filesystem::path& dir);

    // --- pipeline pieces -------------------------------------------------
    void set_normalizer(text::NormalizerPtr n) {
        normalizer_ = std::move(n);
        added_.rebuild(normalizer_.get());
    }
    void set_pre_tokenizer(text::PreTokenizerPtr p) { pre_tokenizer_ = std::move(p); }
    void set_post_processor(text::PostProcessorPtr p) { post_processor_ = std::move(p); }
    void set_decoder(text::DecoderPtr d) { decoder_ = std::move(d); }
    const text::Model& model() const { return *model_; }
    void set_model(text::ModelPtr model) { model_ = std::move(model); }

    // The words the model would see: normalizer and pre-tokenizer applied, added
    // tokens not split out (what trainers count, as in HF).
    std::vector<std::string> words(std::string_view input) const {
        std::vector<std::u32string> pieces{
            detail::decode_utf8(input, invalid_utf8_ == text::InvalidUtf8::Replace)};
        if (normalizer_) normalizer_->normalize(pieces[0]);
        if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
        std::vector<std::string> out;
        for (const auto& p : pieces)
            if (!p.empty()) out.push_back(detail::to_utf8(p));
        return out;
    }

    void add_token(text::AddedToken token) {
        added_.add(std::move(token));
        added_.rebuild(normalizer_.get());
    }
    const text::AddedVocabulary& added_tokens() const { return added_; }

    void enable_truncation(text::TruncationParams p) { truncation_ = p; }
    void no_truncation() { truncation_.reset(); }
    const std::optional<text::TruncationParams>& truncation() const { return truncation_; }
    void enable_padding(text::PaddingParams p) { padding_ = std::move(p); }
    void no_padding() { padding_.reset(); }
    void set_invalid_utf8(text::InvalidUtf8 mode) { invalid_utf8_ = mode; }

    // tokenizer_config.json's model_max_length, when the folder had one.
    std::optional<size_t> model_max_length() const { return model_max_length_; }
    void set_model_max_length(std::optional<size_t> n) { model_max_length_ = n; }

    // --- encoding --------------------------------------------------------
    Encoding encode(std::string_view text, bool add_special_tokens = true) const {
        Encoding e = encode_sequence(text, 0);
        return finish(std::move(e), nullptr, add_special_tokens, true);
    }

    // A pair of texts (query and passage, sentence A and B). Not an overload of
    // encode(): a string literal would convert to its `bool` instead.
    Encoding encode_pair(std::string_view text, std::string_view pair, bool add_special_tokens = true) const {
        Encoding a = encode_sequence(text, 0), b = encode_sequence(pair, 1);
        return finish(std::move(a), &b, add_special_tokens, true);
    }

    // Encodes each text on its own, in parallel (OpenMP), results in input order;
    // padding, if enabled, applies to the whole batch.
    std::vector<Encoding> encode_batch(const std::vector<std::string>& texts,
                                       bool add_special_tokens = true) const {
        std::vector<Encoding> out(texts.size());
        std::exception_ptr failure;
        const auto n = static_cast<long>(texts.size());
#pragma omp parallel for schedule(dynamic, 64) if (n > 64)
        for (long i = 0; i < n; ++i) {
            try {
                out[i] = finish(encode_sequence(texts[i], 0), nullptr, add_special_tokens, false);
            } catch (...) {
#pragma omp critical(tandem_tokenizer_failure)
                if (!failure) failure = std::current_exception();
            }
        }
        if (failure) std::rethrow_exception(failure);
        if (padding_) pad_batch(out);
        return out;
    }

    // --- vocabulary and decoding -----------------------------------------
    std::optional<uint32_t> token_to_id(std::string_view token) const {
        if (const auto* t = added_.find(token)) return t->id;
        return model_->token_to_id(token);
    }
    std::optional<std::string> id_to_token(uint32_t id) const {
        if (const auto* t = added_.find(id)) return t->content;
        return model_->id_to_token(id);
    }
    size_t vocab_size(bool with_added_tokens = true) const {
        size_t n = model_->vocab_size();
        if (with_added_tokens)
            for (const auto& t : added_.tokens()) n += model_->token_to_id(t.content) ? 0 : 1;
        return n;
    }
    std::vector<std::string> convert_ids_to_tokens(const std::vector<uint32_t>& ids) const {
        std::vector<std::string> out;
        for (uint32_t id : ids) out.push_back(id_to_token(id).value_or(""));
        return out;
    }

    std::string decode(const std::vector<uint32_t>& ids, bool skip_special_tokens = true) const {
        std::vector<std::string> tokens;
        for (uint32_t id : ids) {
            const auto* added = added_.find(id);
            if (added && skip_special_tokens && added->special) continue;
            if (auto t = added ? std::optional<std::string>(added->content) : model_->id_to_token(id))
                tokens.push_back(std::move(*t));
        }
        if (decoder_) return decoder_->decode(std::move(tokens));
        std::string out;
        for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
        return out;
    }

    // --- saving ----------------------------------------------------------
    text::json to_json() const {
        text::json added = text::json::array();
        for (const auto& t : added_.tokens()) added.push_back(t.to_json());
        const auto dump = [](const auto& p) { return p ? p->to_json() : text::json(nullptr); };
        text::json j;
        j["version"] = "1.0";
        j["truncation"] = nullptr;
        if (truncation_)
            j["truncation"] = {
                {"direction", truncation_->direction == text::Direction::Left ? "Left" : "Right"},
                {"max_length", truncation_->max_length},
                {"strategy", truncation_->strategy == text::TruncationStrategy::LongestFirst ? "LongestFirst"
                             : truncation_->strategy == text::TruncationStrategy::OnlyFirst  ? "OnlyFirst"
                                                                                             : "OnlySecond"},
                {"stride", truncation_->stride}};
        j["padding"] = nullptr;
        if (padding_)
            j["padding"] = {
                {"strategy", padding_->fixed_length ? text::json{{"Fixed", *padding_->fixed_length}}
                                                    : text::json("BatchLongest")},
                {"direction", padding_->direction == text::Direction::Left ? "Left" : "Right"},
                {"pad_to_multiple_of", padding_->pad_to_multiple_of ? text::json(padding_->pad_to_multiple_of)
                                                                    : text::json(nullptr)},
                {"pad_id", padding_->pad_id},
                {"pad_type_id", padding_->pad_type_id},
                {"pad_token", padding_->pad_token}};
        j["added_tokens"] = added;
        j["normalizer"] = dump(normalizer_);
        j["pre_tokenizer"] = dump(pre_tokenizer_);
        j["post_processor"] = dump(post_processor_);
        j["decoder"] = dump(decoder_);
        j["model"] = model_->to_json();
        return j;
    }

    // Through the atomic writer: a crash or a full disk leaves the old file, never half a new one.
    void save(const std::filesystem::path& path) const {
        detail::atomic_write(path, detail::dump_json(to_json(), path.string(), 2));
    }

private:
    static text::Direction direction_from_json(const text::json& j, const tandem::detail::JsonPath& at) {
        const auto name = tandem::detail::json_optional_string(j, at, "direction", "Right");
        if (name != "Left" && name != "Right")
            (at / "direction").fail("expected Left or Right, found '", name, "'");
        return name == "Left" ? text::Direction::Left : text::Direction::Right;
    }

    // Needs the post-processor: a stride must leave room once the special tokens are in.
    text::TruncationParams truncation_from_json(const text::json& j,
                                                const tandem::detail::JsonPath& at) const {
        if (!j.is_object()) at.fail("expected an object or null, found ", tandem::detail::describe_json(j));
        text::TruncationParams p;
        p.max_length = tandem::detail::json_number<size_t>(
            j, at, "max_length", 512, 0, text::kMaxSequenceLength, "tandem's limit on sequence lengths");
        p.stride = tandem::detail::json_number<size_t>(j, at, "stride", 0);
        const auto strategy = tandem::detail::json_optional_string(j, at, "strategy", "LongestFirst");
        if (strategy != "LongestFirst" && strategy != "OnlyFirst" && strategy != "OnlySecond")
            (at / "strategy").fail("expected LongestFirst, OnlyFirst or OnlySecond, found '", strategy, "'");
        p.strategy = strategy == "OnlyFirst"    ? text::TruncationStrategy::OnlyFirst
                     : strategy == "OnlySecond" ? text::TruncationStrategy::OnlySecond
                                                : text::TruncationStrategy::LongestFirst;
        p.direction = direction_from_json(j, at);
        const size_t added = post_processor_ ? post_processor_->added_tokens(false) : 0;
        if (p.max_length <= added || p.stride >= p.max_length - added)
            (at / "stride")
                .fail("stride ", p.stride, " must be smaller than max_length ", p.max_length, " less the ",
                      added, " special tokens");
        return p;
    }

    static text::PaddingParams padding_from_json(const text::json& j, const tandem::detail::JsonPath& at) {
        if (!j.is_object()) at.fail("expected an object or null, found ", tandem::detail::describe_json(j));
        constexpr std::string_view limit = "tandem's limit on sequence lengths";
        text::PaddingParams p;
        // "BatchLongest" or {"Fixed": n}, as serde writes the Rust enum.
        const text::json& strategy = tandem::detail::json_at(j, at, "strategy");
        if (strategy.is_object() && strategy.size() == 1 && strategy.contains("Fixed")) {
            p.fixed_length = tandem::detail::json_integer<size_t>(
                strategy["Fixed"], at / "strategy" / "Fixed", 0, text::kMaxSequenceLength, limit);
        } else if (strategy != "BatchLongest") {
            (at / "strategy")
                .fail("expected \"BatchLongest\" or {\"Fixed\": length}, found ",
                      tandem::detail::describe_json(strategy));
        }
        p.pad_to_multiple_of = tandem::detail::json_number<size_t>(j, at, "pad_to_multiple_of", 0, 0,
                                                                   text::kMaxSequenceLength, limit);
        p.pad_id = tandem::detail::json_number<uint32_t>(j, at, "pad_id", 0);
        p.pad_type_id = tandem::detail::json_number<uint32_t>(j, at, "pad_type_id", 0);
        p.pad_token = tandem::detail::json_optional_string(j, at, "pad_token", "[PAD]");
        p.direction = direction_from_json(j, at);
        return p;
    }

    // Added tokens, normalizer, pre-tokenizer and model on one text: ids without specials.
    Encoding encode_sequence(std::string_view input, uint32_t type_id) const {
        const std::u32string text =
            tandem::detail::decode_utf8(input, invalid_utf8_ == text::InvalidUtf8::Replace);
        std::vector<uint32_t> ids;
        std::vector<text::Segment> raw, normalized;
        std::vector<std::u32string> pieces;
        std::string utf8;
        added_.split(text, false, raw);
        for (const auto& seg : raw) {
            if (seg.id) {
                ids.push_back(*seg.id);
                continue;
            }
            std::u32string part = text.substr(seg.begin, seg.end - seg.begin);
            if (normalizer_) normalizer_->normalize(part);
            added_.split(part, true, normalized);
            for (const auto& sub : normalized) {
                if (sub.id) {
                    ids.push_back(*sub.id);
                    continue;
                }
                pieces.assign(1, part.substr(sub.begin, sub.end - sub.begin));
                if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
                for (const auto& p : pieces) {
                    if (p.empty()) continue;
                    utf8.clear();
                    for (char32_t c : p) tandem::detail::append_utf8(utf8, c);
                    model_->tokenize(utf8, ids);
                }
            }
        }
        return Encoding::from_ids(std::move(ids), type_id);
    }

    // Truncation, post-processing and (unless a batch pads later) padding.
    Encoding finish(Encoding a, Encoding* b, bool add_special_tokens, bool pad) const {
        if (truncation_) {
            text::TruncationParams p = *truncation_;
            const size_t added =
                add_special_tokens && post_processor_ ? post_processor_->added_tokens(b != nullptr) : 0;
            if (added > p.max_length)
                detail::throw_error("truncation: max_length ", p.max_length, " leaves no room for the ",
                                    added, " special tokens");
            p.max_length -= added;
            truncate(a, b, p);
        }
        const auto process = [&](Encoding x, const Encoding* y) {
            if (post_processor_) return post_processor_->process(std::move(x), y, add_special_tokens);
            return text::concatenate(std::move(x), y);
        };
        std::vector<Encoding> overflow = std::move(a.overflowing);
        a.overflowing.clear();
        Encoding out = process(std::move(a), b);
        for (auto& o : overflow) out.overflowing.push_back(process(std::move(o), b));
        if (pad && padding_) {
            std::vector<Encoding> one(1, std::move(out));
            pad_batch(one);
            out = std::move(one[0]);
        }
        return out;
    }

    static void truncate(Encoding& a, Encoding* b, const text::TruncationParams& p) {
        const size_t total = a.size() + (b ? b->size() : 0);
        if (total <= p.max_length) return;
        const size_t to_remove = total - p.max_length;
        if (p.strategy == text::TruncationStrategy::LongestFirst) {
            if (!b) {
                a.truncate(total - to_remove, p.stride, p.direction);
                return;
            }
            size_t n1 = a.size(), n2 = b->size();
            const bool swap = n1 > n2;
            if (swap) std::swap(n1, n2);
            n2 = n1 > p.max_length ? n1 : std::max(n1, p.max_length - n1);
            if (n1 + n2 > p.max_length) {
                n1 = p.max_length / 2;
                n2 = n1 + p.max_length % 2;
            }
            if (swap) std::swap(n1, n2);
            a.truncate(n1, p.stride, p.direction);
            b->truncate(n2, p.stride, p.direction);
            return;
        }
        Encoding* target = p.strategy == text::TruncationStrategy::OnlyFirst ? &a : b;
        if (!target) detail::throw_error("truncation: strategy OnlySecond needs a second text");
        if (target->size() <= to_remove)
            detail::throw_error("truncation: the sequence to truncate has ", target->size(),
                                " tokens, fewer than the ", to_remove, " that must go");
        target->truncate(target->size() - to_remove, p.stride, p.direction);
    }

    void pad_batch(std::vector<Encoding>& batch) const {
        size_t length = 0;
        if (padding_->fixed_length) {
            length = *padding_->fixed_length;
        } else {
            for (const auto& e : batch) length = std::max(length, e.size());
        }
        if (const size_t m = padding_->pad_to_multiple_of; m > 0 && length % m) length += m - length % m;
        for (auto& e : batch) e.pad(length, padding_->pad_id, padding_->pad_type_id, padding_->direction);
    }

    text::ModelPtr model_;
    text::NormalizerPtr normalizer_;
    text::PreTokenizerPtr pre_tokenizer_;
    text::PostProcessorPtr post_processor_;
    text::DecoderPtr decoder_;
    text::AddedVocabulary added_;
    std::optional<text::TruncationParams> truncation_;
    std::optional<text::PaddingParams> padding_;
    std::optional<size_t> model_max_length_;
    text::InvalidUtf8 invalid_utf8_ = text::InvalidUtf8::Error;
};

namespace detail {

inline std::string read_text_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) tandem::detail::throw_error(path.string(), ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// tokenizer_config.json and special_tokens_map.json, merged; empty when absent.
inline text::json read_tokenizer_config(const std::filesystem::path& dir) {
    text::json config = text::json::object();
    for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
        const auto path = dir / name;
        if (!std::filesystem::exists(path)) continue;
        const text::json j = read_json_file(path);
        if (!j.is_object())
            JsonPath{path.string(), ""}.fail("expected a JSON object, found ", describe_json(j));
        config.update(j);
    }
    return config;
}

// A special token entry of tokenizer_config.json: a string or an AddedToken object.
inline std::optional<text::AddedToken> config_token(const text::json& config, const JsonPath& at,
                                                    const char* key) {
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    text::AddedToken t;
    t.special = true;
    if (it->is_string()) {
        t.content = it->get<std::string>();
    } else if (it->is_object() && it->contains("content")) {
        t.content = json_string(*it, at / key, "content");
        t.lstrip = json_bool(*it, at / key, "lstrip", false);
        t.rstrip = json_bool(*it, at / key, "rstrip", false);
        t.single_word = json_bool(*it, at / key, "single_word", false);
    } else {
        (at / key).fail("expected a token string or an object with 'content', found ", describe_json(*it));
    }
    return t;
}

// Where keys of the merged tokenizer_config.json / special_tokens_map.json are reported.
inline JsonPath tokenizer_config_path(const std::filesystem::path& dir) {
    return {(dir / "tokenizer_config.json").string(), ""};
}

inline void set_max_length(Tokenizer& t, const text::json& config) {
    if (auto it = config.find("model_max_length");
        it != config.end() && it->is_number_unsigned() && it->get<uint64_t>() < (uint64_t{1} << 40))
        t.set_model_max_length(it->get<size_t>());
}

// The tokenizer classes whose legacy files transformers turns into RoBERTa's
// post-processor, `<s> A </s>` / `<s> A </s></s> B </s>` (its RobertaConverter, and
// MPNetTokenizer's own), given as tokenizer_config.json's tokenizer_class.
inline bool roberta_style_class(const std::string& tokenizer_class,
                                std::initializer_list<const char*> classes) {
    for (const char* name : classes)
        if (tokenizer_class == name || tokenizer_class == std::string(name) + "Fast") return true;
    return false;
}

// vocab.txt (BERT WordPiece): the pipeline HF's BertTokenizerFast converter builds, or
// for MPNetTokenizer the same with MPNet's special tokens and RoBERTa's post-processor.
inline Tokenizer bert_from_vocab_txt(const std::filesystem::path& dir) {
    const auto path = dir / "vocab.txt";
    const text::json config = read_tokenizer_config(dir);
    const JsonPath cfg = tokenizer_config_path(dir);
    Vocab vocab;
    std::istringstream in(read_text_file(path));
    std::string line;
    for (uint32_t id = 0; std::getline(in, line); ++id) {
        if (id >= kMaxVocabSize)
            throw_error(path.string(), ": line ", size_t{id} + 1, ": more tokens than tandem's limit of ",
                        kMaxVocabSize);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        vocab.add(line, id);
    }
    const bool mpnet =
        roberta_style_class(json_optional_string(config, cfg, "tokenizer_class"), {"MPNetTokenizer"});
    const auto name = [&](const char* key, const char* bert, const char* mpnet_default) {
        auto t = config_token(config, cfg, key);
        return t ? t->content : std::string(mpnet ? mpnet_default : bert);
    };
    const std::string unk = name("unk_token", "[UNK]", "[UNK]"), cls = name("cls_token", "[CLS]", "<s>"),
                      sep = name("sep_token", "[SEP]", "</s>");
    const std::string pad = name("pad_token", "[PAD]", "<pad>"),
                      mask = name("mask_token", "[MASK]", "<mask>");
    for (const auto& s : {cls, sep})
        if (!vocab.id(s)) JsonPath{path.string(), s}.fail("special token is missing from the vocabulary");
    const bool lower = json_bool(config, cfg, "do_lower_case", true);
    auto accents = text::BertNormalizer::Accents::Default;
    if (auto it = config.find("strip_accents"); it != config.end() && !it->is_null())
        accents = json_as<bool>(*it, cfg / "strip_accents") ? text::BertNormalizer::Accents::Strip
                                                            : text::BertNormalizer::Accents::Keep;
    const uint32_t cls_id = *vocab.id(cls), sep_id = *vocab.id(sep);
    Tokenizer t(std::make_shared<text::WordPiece>(vocab, unk, "##", 100));
    t.set_normalizer(std::make_shared<text::BertNormalizer>(
        true, json_bool(config, cfg, "tokenize_chinese_chars", true), accents, lower));
    t.set_pre_tokenizer(std::make_shared<text::BertPreTokenizer>());
    if (mpnet)
        t.set_post_processor(std::make_shared<text::ClsSepProcessing>(
            true, text::ClsSepProcessing::Token{cls, cls_id}, text::ClsSepProcessing::Token{sep, sep_id}));
    else
        t.set_post_processor(std::make_shared<text::TemplateProcessing>(
            std::vector<text::TemplateProcessing::Piece>{{true, cls, 0}, {false, "A", 0}, {true, sep, 0}},
            std::vector<text::TemplateProcessing::Piece>{
                {true, cls, 0}, {false, "A", 0}, {true, sep, 0}, {false, "B", 1}, {true, sep, 1}},
            std::vector<text::TemplateProcessing::SpecialToken>{{cls, {cls_id}, {cls}},
                                                                {sep, {sep_id}, {sep}}}));
    t.set_decoder(std::make_shared<text::WordPieceDecoder>("##", true));
    // MPNetTokenizer's mask token takes the space before it (lstrip), as RoBERTa's.
    for (const auto& s : {pad, unk, cls, sep, mask})
        if (auto id = vocab.id(s)) t.add_token({s, *id, true, false, mpnet && s == mask, false, false});
    set_max_length(t, config);
    return t;
}

// vocab.json + merges.txt: CLIP (words end in `</w>`) or GPT-2/RoBERTa byte-level BPE;
// the RoBERTa family (by tokenizer_class) adds `<s>` and `</s>` as RobertaConverter does,
// GPT-2 adds nothing.
inline Tokenizer bpe_from_vocab_merges(const std::filesystem::path& dir) {
    const auto vocab_path = dir / "vocab.json", merges_path = dir / "merges.txt";
    const text::json config = read_tokenizer_config(dir);
    const JsonPath cfg = tokenizer_config_path(dir);
    Vocab vocab = vocab_from_json(read_json_file(vocab_path), {vocab_path.string(), ""});
    text::BPE::Merges merges;
    std::istringstream in(read_text_file(merges_path));
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (n == 1 && line.rfind("#version", 0) == 0)) continue;
        merges.push_back(
            text::BPE::parse_merge_line(line, {merges_path.string(), "line " + std::to_string(n)}));
    }
    const std::string cls = json_optional_string(config, cfg, "tokenizer_class");
    const bool clip = cls.find("CLIP") != std::string::npos || (!vocab.id("a") && vocab.id("a</w>"));
    text::BPEOptions options;
    if (clip) {
        options.end_of_word_suffix = "</w>";
        auto unk = config_token(config, cfg, "unk_token");
        options.unk_token = unk ? unk->content : "<|endoftext|>";
    }
    Tokenizer t(std::make_shared<text::BPE>(std::move(vocab), std::move(merges), options,
                                            JsonPath{merges_path.string(), "merges"}));
    const auto special = [&](const char* key, const char* fallback, bool normalized) {
        auto tok = config_token(config, cfg, key);
        if (!tok) tok = text::AddedToken{fallback, 0, true, false, false, false, false};
        auto id = t.model().token_to_id(tok->content);
        if (!id)
            JsonPath{vocab_path.string(), tok->content}.fail("special token is missing from the vocabulary");
        tok->id = *id;
        tok->normalized = normalized;
        return *tok;
    };
    if (clip) {
        // Exactly what HF's converter writes to tokenizer.json for these files.
        const auto bos = special("bos_token", "<|startoftext|>", true);
        const auto eos = special("eos_token", "<|endoftext|>", false);
        t.set_normalizer(std::make_shared<text::NormalizerSequence>(std::vector<text::NormalizerPtr>{
            std::make_shared<text::UnicodeNormalizer>(text::UnicodeForm::NFC),
            std::make_shared<text::Replace>(Pattern(Pattern::Kind::WhitespaceRun, {}, "\\s+"), U" "),
            std::make_shared<text::Lowercase>()}));
        t.set_pre_tokenizer(std::make_shared<text::PreTokenizerSequence>(std::vector<text::PreTokenizerPtr>{
            std::make_shared<text::Split>(Pattern(Pattern::Kind::Clip, {}, std::string(kClipRegex)),
                                          text::SplitBehavior::Removed, true),
            std::make_shared<text::ByteLevel>(false, true, true)}));
        t.set_post_processor(
            std::make_shared<text::ClsSepProcessing>(true, text::ClsSepProcessing::Token{bos.content, bos.id},
                                                     text::ClsSepProcessing::Token{eos.content, eos.id}));
        t.set_decoder(std::make_shared<text::ByteLevelDecoder>());
        t.add_token(bos);
        t.add_token(eos);
    } else {
        t.set_pre_tokenizer(
            std::make_shared<text::ByteLevel>(json_bool(config, cfg, "add_prefix_space", false), true, true));
        if (roberta_style_class(
                cls, {"RobertaTokenizer", "BartTokenizer", "LongformerTokenizer", "LEDTokenizer"})) {
            const auto first = special("cls_token", "<s>", false), last = special("sep_token", "</s>", false);
            t.set_post_processor(std::make_shared<text::ClsSepProcessing>(
                true, text::ClsSepProcessing::Token{first.content, first.id},
                text::ClsSepProcessing::Token{last.content, last.id}));
        } else {
            t.set_post_processor(std::make_shared<text::ByteLevelProcessing>());
        }
        t.set_decoder(std::make_shared<text::ByteLevelDecoder>());
        for (const char* key :
             {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"})
            if (auto tok = config_token(config, cfg, key))
                if (auto id = t.model().token_to_id(tok->content)) {
                    tok->id = *id;
                    t.add_token(*tok);
                }
    }
    set_max_length(t, config);
    return t;
}

}  // namespace detail

inline Tokenizer Tokenizer::from_folder(const std::filesystem::path& dir) {
    if (std::filesystem::exists(dir / "tokenizer.json")) {
        Tokenizer t = from_file(dir / "tokenizer.json");
        tandem::detail::set_max_length(t, tandem::detail::read_tokenizer_config(dir));
        return t;
    }
    if (std::filesystem::exists(dir / "vocab.json") && std::filesystem::exists(dir / "merges.txt"))
        return tandem::detail::bpe_from_vocab_merges(dir);
    if (std::filesystem::exists(dir / "vocab.txt")) return tandem::detail::bert_from_vocab_txt(dir);
    tandem::detail::throw_error(
        dir.string(), ": no tokenizer found: expected tokenizer.json, vocab.json + merges.txt, or vocab.txt");
}

}  // namespace tandem
