// WebDataset tar shards, open_clip's format for large image-text sets: members named
// KEY.EXT, the members of one sample adjacent and sharing KEY (the path up to the first
// dot of the file name, as webdataset's `base_plus_ext`). Shards are named by a brace
// pattern (`shard-{000..127}.tar`, `{a,b}`) and read through libarchive in one pass,
// without unpacking, compressed or not. `for_each_sample` streams; `read_webdataset`
// keeps the samples as a Dataset: images (jpg, jpeg, png, webp) as encoded bytes,
// `txt` as texts, `cls` as int64 labels, `json` as its text.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/detail/table.hpp>
#include <tandem/data/image_ref.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <archive.h>
#include <archive_entry.h>

namespace tandem::data {

// Expands `{a,b}` alternatives and `{000..127}` numeric ranges (zero-padded to the width
// of the first bound), left to right, as braceexpand does for webdataset URLs.
inline std::vector<std::string> expand_braces(const std::string& pattern) {
    const auto open = pattern.find('{');
    if (open == std::string::npos) return {pattern};
    const auto close = pattern.find('}', open);
    if (close == std::string::npos)
        tandem::detail::throw_error("expand_braces: '", pattern, "': a '{' is not closed");
    const std::string body = pattern.substr(open + 1, close - open - 1);
    std::vector<std::string> choices;
    if (const auto dots = body.find(".."); dots != std::string::npos) {
        const std::string lo = body.substr(0, dots), hi = body.substr(dots + 2);
        const auto a = detail::parse_int(lo), b = detail::parse_int(hi);
        if (!a || !b || *a > *b || *a < 0)
            tandem::detail::throw_error("expand_braces: '", pattern, "': expected a range {first..last} of ",
                                        "non-negative integers, found {", body, "}");
        for (std::int64_t v = *a; v <= *b; ++v) {
            std::string s = std::to_string(v);
            if (s.size() < lo.size()) s.insert(0, lo.size() - s.size(), '0');
            choices.push_back(std::move(s));
        }
    } else {
        std::size_t start = 0;
        for (;;) {
            const auto comma = body.find(',', start);
            choices.push_back(body.substr(start, comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    // Ordered by this brace's choice first, then by what follows, as braceexpand does.
    std::vector<std::string> out;
    const auto tails = expand_braces(pattern.substr(close + 1));
    for (const auto& c : choices)
        for (const auto& rest : tails) out.push_back(pattern.substr(0, open) + c + rest);
    return out;
}

struct WebDatasetSample {
    std::string shard, key;
    std::map<std::string, std::vector<std::uint8_t>> parts;  // by extension, lower case
};

namespace detail {

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};

}  // namespace detail

// Calls `f(sample)` for every sample of every shard, in order, holding one sample at a time.
template <class F>
void for_each_sample(const std::vector<std::filesystem::path>& shards, F&& f) {
    using tandem::detail::throw_error;
    for (const auto& shard : shards) {
        if (!std::filesystem::is_regular_file(shard))
            throw_error(shard.string(), ": no such shard (expected a tar file)");
        std::unique_ptr<archive, detail::ArchiveFree> a(archive_read_new());
        archive_read_support_filter_all(a.get());
        archive_read_support_format_tar(a.get());
        if (archive_read_open_filename(a.get(), shard.c_str(), 1 << 16) != ARCHIVE_OK)
            throw_error(shard.string(), ": cannot open as a tar archive (", archive_error_string(a.get()),
                        ")");
        WebDatasetSample sample;
        sample.shard = shard.string();
        archive_entry* entry = nullptr;
        for (;;) {
            const int rc = archive_read_next_header(a.get(), &entry);
            if (rc == ARCHIVE_EOF) break;
            if (rc < ARCHIVE_WARN)
                throw_error(shard.string(), ": corrupt tar archive after member '", sample.key, "' (",
                            archive_error_string(a.get()), ")");
            if (archive_entry_filetype(entry) != AE_IFREG) continue;
            const std::string path = archive_entry_pathname(entry);
            const auto slash = path.rfind('/');
            const auto dot = path.find('.', slash == std::string::npos ? 0 : slash + 1);
            const std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
            if (base.rfind("__", 0) == 0 || dot == std::string::npos) continue;  // webdataset skips these
            std::string key = path.substr(0, dot), ext = path.substr(dot + 1);
            std::transform(ext.begin(), ext.end(), ext.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            if (key != sample.key && !sample.parts.empty()) {
                f(std::as_const(sample));
                sample.parts.clear();
            }
            sample.key = std::move(key);
            std::vector<std::uint8_t> bytes;
            if (archive_entry_size_is_set(entry))
                bytes.reserve(static_cast<std::size_t>(archive_entry_size(entry)));
            std::uint8_t chunk[1 << 16];
            for (;;) {
                const la_ssize_t n = archive_read_data(a.get(), chunk, sizeof chunk);
                if (n < 0)
                    throw_error(shard.string(), ": member '", path, "' is corrupt or truncated (",
                                archive_error_string(a.get()), ")");
                if (n == 0) break;
                bytes.insert(bytes.end(), chunk, chunk + n);
            }
            if (sample.parts.count(ext))
                throw_error(shard.string(), ": sample '", sample.key, "' has two '", ext, "' members");
            sample.parts.emplace(std::move(ext), std::move(bytes));
        }
        if (!sample.parts.empty()) f(std::as_const(sample));
    }
}

inline std::vector<std::filesystem::path> shard_paths(const std::string& pattern) {
    std::vector<std::filesystem::path> out;
    for (auto& s : expand_braces(pattern)) out.emplace_back(std::move(s));
    return out;
}

// The samples of `pattern`'s shards as columns `image`, `text`, `label`, `json` (those the
// first sample has); every sample must have the same ones.
inline Dataset read_webdataset(const std::string& pattern) {
    using tandem::detail::throw_error;
    static const std::vector<std::string> image_exts = {"jpg", "jpeg", "png", "webp"};
    std::vector<std::string> columns;  // in the order image, text, label, json
    std::vector<ImageRef> images;
    std::vector<std::string> texts, jsons;
    std::vector<std::int64_t> labels;
    auto image_of = [&](const WebDatasetSample& s) {
        for (const auto& e : image_exts)
            if (auto it = s.parts.find(e); it != s.parts.end()) return it;
        return s.parts.end();
    };
    auto as_text = [](const std::vector<std::uint8_t>& b) { return std::string(b.begin(), b.end()); };
    for_each_sample(shard_paths(pattern), [&](const WebDatasetSample& s) {
        const std::string where = s.shard + ": sample '" + s.key + "'";
        const bool first = columns.empty();
        const auto image = image_of(s);
        const bool has[] = {image != s.parts.end(), s.parts.count("txt") > 0, s.parts.count("cls") > 0,
                            s.parts.count("json") > 0};
        const char* names[] = {"image", "text", "label", "json"};
        const char* exts[] = {"jpg, jpeg, png or webp", "txt", "cls", "json"};
        for (int k = 0; k < 4; ++k) {
            if (first && has[k]) columns.emplace_back(names[k]);
            const bool wanted = detail::contains(columns, names[k]);
            if (wanted && !has[k])
                throw_error(where, ": missing its ", exts[k], " member, which earlier samples have");
            if (!first && !wanted && has[k])
                throw_error(where, ": has a ", exts[k], " member, which the first sample has not");
        }
        if (columns.empty())
            throw_error(where, ": has none of the members read (jpg, jpeg, png, webp, txt, cls, json)");
        if (has[0]) {
            auto bytes = std::make_shared<const std::vector<std::uint8_t>>(image->second);
            images.push_back(
                EncodedImage{bytes, 0, bytes->size(), s.shard + ":" + s.key + "." + image->first});
        }
        if (has[1]) texts.push_back(as_text(s.parts.at("txt")));
        if (has[2]) {
            std::string v = as_text(s.parts.at("cls"));
            while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
            const auto label = detail::parse_int(v);
            if (!label) throw_error(where, ": cls member: expected an integer, found '", v, "'");
            labels.push_back(*label);
        }
        if (has[3]) jsons.push_back(as_text(s.parts.at("json")));
    });
    if (columns.empty()) throw_error(pattern, ": the shards hold no samples");
    std::vector<Column> out;
    for (const auto& name : columns) {
        if (name == "image") out.emplace_back(name, std::move(images));
        if (name == "text") out.emplace_back(name, std::move(texts));
        if (name == "label") out.emplace_back(name, std::move(labels));
        if (name == "json") out.emplace_back(name, std::move(jsons));
    }
    return Dataset(std::move(out));
}

}  // namespace tandem::data
