// WebDataset tar shards, open_clip's format for large image-text sets: members named
// KEY.EXT, the members of one sample adjacent and sharing KEY (the path up to the first
// dot of the file name, as webdataset's `base_plus_ext`). Shards are named by a brace
// pattern (`shard-{000..127}.tar`, `{a,b}`) and read through libarchive in one pass,
// without unpacking, compressed or not. `for_each_sample` streams; `read_webdataset`
// indexes the samples as a Dataset: images (jpg, jpeg, png, webp), `txt` texts, `cls`
// int64 labels, `json` as its text. Members of uncompressed shards stay in the shard and
// are read back in place (an offset per member, so shards larger than memory load);
// members of compressed shards, which cannot be read in place, are kept in memory.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/detail/open_file.hpp>
#include <tandem/data/detail/table.hpp>
#include <tandem/data/image_ref.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
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
    // For members of an uncompressed shard: where their bytes start in `file`.
    std::shared_ptr<const detail::OpenFile> file;
    std::map<std::string, std::uint64_t> offsets;
};

namespace detail {

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};

// Whether `file` holds `bytes` at `offset` (checked at both ends): a member is only read
// in place where the tar reader's position is known to be the member's.
inline bool same_bytes_at(const OpenFile& file, std::uint64_t offset,
                          const std::vector<std::uint8_t>& bytes) {
    const std::size_t n = std::min<std::size_t>(bytes.size(), 64);
    std::uint8_t head[64], tail[64];
    if (file.read_some(head, n, offset) != n || !std::equal(head, head + n, bytes.begin())) return false;
    const std::uint64_t end = offset + bytes.size();
    return file.read_some(tail, n, end - n) == n &&
           std::equal(tail, tail + n, bytes.end() - static_cast<std::ptrdiff_t>(n));
}

// A text column of a WebDataset: each cell in its shard, or in memory.
class MemberTexts final : public FieldSource {
public:
    using Cell = std::variant<std::string, FileSlice>;
    std::vector<Cell> cells;
    std::size_t rows() const override { return cells.size(); }
    std::string field(std::size_t row) const override {
        if (const auto* s = std::get_if<std::string>(&cells[row])) return *s;
        const auto& slice = std::get<FileSlice>(cells[row]);
        return slice.file->read<std::string>(slice.offset, slice.size, slice.name);
    }
    std::string where(std::size_t row) const override {
        if (const auto* s = std::get_if<FileSlice>(&cells[row])) return s->name;
        return {};
    }
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
        const bool in_place = archive_filter_code(a.get(), 0) == ARCHIVE_FILTER_NONE;
        if (in_place) sample.file = std::make_shared<const detail::OpenFile>(shard, "a tar shard");
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
                sample.offsets.clear();
            }
            // The tar reader has consumed the headers and none of the data yet.
            const auto offset = static_cast<std::uint64_t>(archive_filter_bytes(a.get(), 0));
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
            if (in_place && detail::same_bytes_at(*sample.file, offset, bytes))
                sample.offsets.emplace(ext, offset);
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
    auto texts = std::make_shared<detail::MemberTexts>(), jsons = std::make_shared<detail::MemberTexts>();
    std::vector<std::int64_t> labels;
    auto image_of = [&](const WebDatasetSample& s) {
        for (const auto& e : image_exts)
            if (auto it = s.parts.find(e); it != s.parts.end()) return it;
        return s.parts.end();
    };
    // Where member `ext` of `s` is, to read it back later, if it can be read in place.
    auto slice_of = [](const WebDatasetSample& s, const std::string& ext) -> std::optional<FileSlice> {
        const auto at = s.offsets.find(ext);
        if (at == s.offsets.end()) return std::nullopt;
        return FileSlice{s.file, at->second, s.parts.at(ext).size(), s.shard + ":" + s.key + "." + ext};
    };
    auto text_cell = [&](const WebDatasetSample& s, const std::string& ext) -> detail::MemberTexts::Cell {
        if (auto slice = slice_of(s, ext)) return *slice;
        const auto& b = s.parts.at(ext);
        return std::string(b.begin(), b.end());
    };
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
            if (auto slice = slice_of(s, image->first)) {
                images.push_back(std::move(*slice));
            } else {
                auto bytes = std::make_shared<const std::vector<std::uint8_t>>(image->second);
                images.push_back(
                    EncodedImage{bytes, 0, bytes->size(), s.shard + ":" + s.key + "." + image->first});
            }
        }
        if (has[1]) texts->cells.push_back(text_cell(s, "txt"));
        if (has[2]) {
            const auto& b = s.parts.at("cls");
            std::string v(b.begin(), b.end());
            while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
            const auto label = detail::parse_int(v);
            if (!label) throw_error(where, ": cls member: expected an integer, found '", v, "'");
            labels.push_back(*label);
        }
        if (has[3]) jsons->cells.push_back(text_cell(s, "json"));
    });
    if (columns.empty()) throw_error(pattern, ": the shards hold no samples");
    std::vector<Column> out;
    for (const auto& name : columns) {
        if (name == "image") out.emplace_back(name, std::move(images));
        if (name == "text") out.emplace_back(name, FileField{texts, {}}, ColumnType::text);
        if (name == "label") out.emplace_back(name, std::move(labels));
        if (name == "json") out.emplace_back(name, FileField{jsons, {}}, ColumnType::text);
    }
    return Dataset(std::move(out));
}

}  // namespace tandem::data
