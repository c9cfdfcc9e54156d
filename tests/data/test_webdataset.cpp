#include <tandem/data/readers/webdataset.hpp>

#include <doctest/doctest.h>

#include "../io/temp_dir.hpp"

#include <string>
#include <utility>
#include <vector>

#include <archive.h>
#include <archive_entry.h>

using namespace tandem::data;
using tandem::testing::error_message;
using tandem::testing::TempDir;
using tandem::testing::write_bytes;

namespace {

// Writes a tar (gzip-compressed when `gzip`) holding `members` (name, bytes) in order.
void write_tar(const std::filesystem::path& path,
               const std::vector<std::pair<std::string, std::string>>& members, bool gzip = false) {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip) archive_write_add_filter_gzip(a);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    for (const auto& [name, bytes] : members) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_write_header(a, e);
        archive_write_data(a, bytes.data(), bytes.size());
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

std::string ppm(unsigned char v) {
    return std::string("P6\n1 1\n255\n") + std::string(3, static_cast<char>(v));
}

}  // namespace

TEST_CASE("expand_braces: ranges keep their zero padding, alternatives their order") {
    CHECK(expand_braces("shard-{000..002}.tar") ==
          std::vector<std::string>{"shard-000.tar", "shard-001.tar", "shard-002.tar"});
    CHECK(expand_braces("{a,b}-{8..10}") ==
          std::vector<std::string>{"a-8", "a-9", "a-10", "b-8", "b-9", "b-10"});
    CHECK(expand_braces("plain.tar") == std::vector<std::string>{"plain.tar"});
    CHECK(error_message([] { expand_braces("s-{3..1}.tar"); }) ==
          "expand_braces: 's-{3..1}.tar': expected a range {first..last} of non-negative integers, found "
          "{3..1}");
    CHECK(error_message([] { expand_braces("s-{1..3.tar"); }) ==
          "expand_braces: 's-{1..3.tar': a '{' is not closed");
}

TEST_CASE("read_webdataset: samples grouped by key across shards, plain and gzip, without unpacking") {
    TempDir dir;
    write_tar(dir / "shard-000.tar", {{"a/0001.jpg", ppm(10)},
                                      {"a/0001.txt", "a red square"},
                                      {"a/0001.cls", "3\n"},
                                      {"__meta__.json", "{}"},
                                      {"a/0002.txt", "a blue one"},
                                      {"a/0002.JPG", ppm(20)},
                                      {"a/0002.cls", "1"}});
    write_tar(dir / "shard-001.tar",
              {{"b.d/0003.jpg", ppm(30)}, {"b.d/0003.txt", "a dot in the folder"}, {"b.d/0003.cls", "0"}},
              true);
    const Dataset d = read_webdataset((dir / "shard-{000..001}.tar").string());
    CHECK(d.column_names() == std::vector<std::string>{"image", "text", "label"});
    REQUIRE(d.size() == 3);
    CHECK(std::get<std::string>(d.cell(1, 1)) == "a blue one");
    CHECK(d.label(0, 2) == 3);
    CHECK(d.label(2, 2) == 0);
    const auto ref = std::get<ImageRef>(d.cell(2, 0));
    // The key is the path up to the first dot of the file name (dots in folders stay).
    CHECK(describe(ref) == (dir / "shard-001.tar").string() + ":b.d/0003.jpg");
    CHECK(load(ref)(0, 0, 0) == 30);
    CHECK(load(std::get<ImageRef>(d.cell(1, 0)))(0, 0, 2) == 20);

    std::vector<std::string> keys, exts;
    for_each_sample(shard_paths((dir / "shard-{000..001}.tar").string()), [&](const WebDatasetSample& s) {
        keys.push_back(s.key);
        for (const auto& [ext, bytes] : s.parts) exts.push_back(ext);
    });
    CHECK(keys == std::vector<std::string>{"a/0001", "a/0002", "b.d/0003"});
    CHECK(exts == std::vector<std::string>{"cls", "jpg", "txt", "cls", "jpg", "txt", "cls", "jpg", "txt"});
    // Everything after the first dot is the extension, as in webdataset.
    write_tar(dir / "multi.tar", {{"k.seg.png", ppm(1)}, {"k.txt", "t"}});
    std::vector<std::string> multi;
    for_each_sample({dir / "multi.tar"}, [&](const WebDatasetSample& s) {
        for (const auto& [ext, bytes] : s.parts) multi.push_back(ext);
    });
    CHECK(multi == std::vector<std::string>{"seg.png", "txt"});
}

TEST_CASE("read_webdataset: missing members, bad labels, missing and corrupt shards are errors") {
    TempDir dir;
    write_tar(dir / "s.tar", {{"k1.jpg", ppm(1)}, {"k1.txt", "one"}, {"k2.jpg", ppm(2)}});
    CHECK(error_message([&] { read_webdataset((dir / "s.tar").string()); }) ==
          (dir / "s.tar").string() + ": sample 'k2': missing its txt member, which earlier samples have");
    write_tar(dir / "c.tar", {{"k1.txt", "one"}, {"k1.cls", "seven"}});
    CHECK(error_message([&] { read_webdataset((dir / "c.tar").string()); }) ==
          (dir / "c.tar").string() + ": sample 'k1': cls member: expected an integer, found 'seven'");
    CHECK(error_message([&] { read_webdataset((dir / "none-{0..1}.tar").string()); }) ==
          (dir / "none-0.tar").string() + ": no such shard (expected a tar file)");
    write_tar(dir / "good.tar", {{"k1.txt", std::string(5000, 'x')}});
    const std::string bytes = tandem::testing::read_bytes(dir / "good.tar");
    write_bytes(dir / "cut.tar", bytes.substr(0, 2048));
    CHECK(error_message([&] { read_webdataset((dir / "cut.tar").string()); }).find("corrupt or truncated") !=
          std::string::npos);
}
