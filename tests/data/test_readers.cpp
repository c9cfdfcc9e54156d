#include <tandem/data/readers/csv.hpp>
#include <tandem/data/readers/idx.hpp>
#include <tandem/data/readers/image_folder.hpp>
#include <tandem/data/readers/jsonl.hpp>

#include <doctest/doctest.h>

#include "../io/temp_dir.hpp"

#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <zlib.h>

using namespace tandem::data;
using tandem::testing::error_message;
using tandem::testing::TempDir;
using tandem::testing::write_bytes;

namespace {

std::string text(const Dataset& d, std::size_t row, const std::string& col) {
    return std::get<std::string>(d.cell(row, d.index_of(col)));
}

// A 2x1 binary PPM: the smallest image file image::load_image reads.
void write_ppm(const std::filesystem::path& p, unsigned char v) {
    std::filesystem::create_directories(p.parent_path());
    write_bytes(p, std::string("P6\n2 1\n255\n") + std::string(6, static_cast<char>(v)));
}

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

void write_gzip(const std::filesystem::path& p, const std::string& bytes) {
    gzFile f = gzopen(p.c_str(), "wb");
    REQUIRE(f);
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}

}  // namespace

TEST_CASE("read_csv: RFC 4180 quoting with commas, quotes and newlines, a BOM and CRLF") {
    TempDir dir;
    write_bytes(dir / "pairs.csv",
                "\xEF\xBB\xBF"
                "anchor,positive,label\r\n"
                "\"a, with comma\",plain,1\r\n"
                "\"two\r\nlines\",\"say \"\"hi\"\"\",0\r\n"
                "\r\n"
                "caf\xC3\xA9,,2\r\n"
                "last,row,-3");
    const Dataset d = read_csv(dir / "pairs.csv");
    CHECK(d.column_names() == std::vector<std::string>{"anchor", "positive", "label"});
    REQUIRE(d.size() == 4);
    CHECK(d.column("anchor").type() == ColumnType::text);
    CHECK(d.column("label").type() == ColumnType::label);
    CHECK(text(d, 0, "anchor") == "a, with comma");
    CHECK(text(d, 1, "anchor") == "two\r\nlines");
    CHECK(text(d, 1, "positive") == "say \"hi\"");
    CHECK(text(d, 2, "anchor") == "caf\xC3\xA9");
    CHECK(text(d, 2, "positive") == "");  // an empty text field is the empty string
    CHECK(text(d, 3, "positive") == "row");
    CHECK(d.label(3, 2) == -3);
    // Rows know their line: the quoted newline and the blank line count.
    CHECK(d.where(2, 0) == (dir / "pairs.csv").string() + " line 6");
}

TEST_CASE("read_csv: invalid UTF-8, short rows, missing labels and unclosed quotes name the line") {
    TempDir dir;
    write_bytes(dir / "bad.csv", "a,b\nok,fine\n\"x\ny\",z\nbad\xFF,q\n");
    CHECK(error_message([&] { read_csv(dir / "bad.csv"); }) ==
          (dir / "bad.csv").string() + " line 5: invalid UTF-8: expected a valid sequence, found byte 0xff");
    write_bytes(dir / "short.csv", "a,b,label\nx,y,1\nonly\n");
    CHECK(error_message([&] { read_csv(dir / "short.csv"); }) ==
          (dir / "short.csv").string() + " line 3: expected 3 fields as in the header, found 1");
    write_bytes(dir / "nolabel.csv", "a,score\nx,0.5\ny,\n");
    CHECK(error_message([&] { read_csv(dir / "nolabel.csv"); }) ==
          (dir / "nolabel.csv").string() + " line 3, column 'score': missing value, expected a number");
    write_bytes(dir / "word.csv", "a,label\nx,one\n");
    CHECK(error_message([&] { read_csv(dir / "word.csv"); }) ==
          (dir / "word.csv").string() + " line 2, column 'label': expected a number, found 'one'");
    write_bytes(dir / "open.csv", "a,b\n\"never closed,x\n");
    CHECK(error_message([&] { read_csv(dir / "open.csv"); }) ==
          (dir / "open.csv").string() + " line 2: a quoted field is not closed at the end of the file");
    write_bytes(dir / "after.csv", "a,b\n\"q\"x,y\n");
    CHECK(error_message([&] { read_csv(dir / "after.csv"); }) ==
          (dir / "after.csv").string() +
              " line 2: expected the delimiter or the end of the row after a closing quote, found 'x'");
    CHECK(error_message([&] { read_csv(dir / "missing.csv"); }) ==
          (dir / "missing.csv").string() + ": no such file (expected a data file)");
    write_bytes(dir / "empty.csv", "");
    CHECK(error_message([&] { read_csv(dir / "empty.csv"); }) ==
          (dir / "empty.csv").string() + ": the file is empty, expected a header row");
}

TEST_CASE("read_csv: scores, TSV, and image columns found by their values or named by the user") {
    TempDir dir;
    write_ppm(dir / "img" / "cat.ppm", 10);
    write_ppm(dir / "img" / "dog.ppm", 20);
    write_bytes(dir / "sts.tsv", "sentence1\tsentence2\tscore\nA\tB\t0.5\nC\tD\t1\n");
    const Dataset sts = read_tsv(dir / "sts.tsv");
    CHECK(sts.column("score").type() == ColumnType::score);
    CHECK(sts.score(0, 2) == 0.5f);
    CHECK(sts.score(1, 2) == 1.0f);
    CHECK(text(sts, 1, "sentence2") == "D");

    write_bytes(dir / "captions.csv",
                "image,caption,other\nimg/cat.ppm,a cat,img/cat.ppm\nimg/dog.ppm,a dog,x.ppm\n");
    const Dataset d = read_csv(dir / "captions.csv");
    CHECK(d.column("image").type() == ColumnType::image);
    CHECK(d.column("caption").type() == ColumnType::text);
    CHECK(d.column("other").type() == ColumnType::text);  // x.ppm does not exist
    const auto ref = std::get<ImageRef>(d.cell(1, 0));
    CHECK(describe(ref) == (dir / "img" / "dog.ppm").string());  // relative to the CSV's folder
    CHECK(load(ref)(0, 1, 2) == 20);

    CsvOptions o;
    o.image_columns = {"other"};
    o.text_columns = {"image"};
    const Dataset forced = read_csv(dir / "captions.csv", o);
    CHECK(forced.column("other").type() == ColumnType::image);
    CHECK(forced.column("image").type() == ColumnType::text);
    o.image_columns = {"nope"};
    CHECK(error_message([&] { read_csv(dir / "captions.csv", o); }) ==
          (dir / "captions.csv").string() +
              ": image_columns names column 'nope', which the file does not have");
}

TEST_CASE("read_jsonl: keys in file order, integer labels, float scores, errors with the line") {
    TempDir dir;
    write_bytes(dir / "t.jsonl",
                "{\"query\": \"q0\", \"doc\": \"d\\\"0\", \"label\": 1}\n"
                "\n"
                "{\"doc\": \"d1\", \"query\": \"caf\xC3\xA9\", \"label\": 0}\r\n");
    const Dataset d = read_jsonl(dir / "t.jsonl");
    CHECK(d.column_names() == std::vector<std::string>{"query", "doc", "label"});
    REQUIRE(d.size() == 2);
    CHECK(text(d, 0, "doc") == "d\"0");
    CHECK(text(d, 1, "query") == "caf\xC3\xA9");
    CHECK(d.label(0, 2) == 1);
    CHECK(d.where(1, 0) == (dir / "t.jsonl").string() + " line 3");

    write_bytes(dir / "s.jsonl", "{\"a\": \"x\", \"score\": 1}\n{\"a\": \"y\", \"score\": 0.25}\n");
    const Dataset s = read_jsonl(dir / "s.jsonl");
    CHECK(s.column("score").type() == ColumnType::score);
    CHECK(s.score(0, 1) == 1.0f);
    CHECK(s.score(1, 1) == 0.25f);

    write_bytes(dir / "missing.jsonl", "{\"a\": \"x\", \"b\": \"y\"}\n{\"a\": \"x\"}\n");
    CHECK(error_message([&] { read_jsonl(dir / "missing.jsonl"); }) ==
          (dir / "missing.jsonl").string() + " line 2: missing key 'b'");
    write_bytes(dir / "type.jsonl", "{\"a\": \"x\"}\n{\"a\": 3}\n");
    CHECK(error_message([&] { read_jsonl(dir / "type.jsonl"); }) ==
          (dir / "type.jsonl").string() + " line 2: key 'a': expected a string, found number");
    write_bytes(dir / "utf8.jsonl", "{\"a\": \"x\"}\n{\"a\": \"\xC3\"}\n");
    CHECK(error_message([&] { read_jsonl(dir / "utf8.jsonl"); }) ==
          (dir / "utf8.jsonl").string() +
              " line 2: invalid UTF-8: expected a valid sequence, found byte 0xc3");
    write_bytes(dir / "array.jsonl", "[1, 2]\n");
    CHECK(error_message([&] { read_jsonl(dir / "array.jsonl"); }) ==
          (dir / "array.jsonl").string() + " line 1: expected a JSON object, found array");
}

TEST_CASE("read_image_folder: sorted classes, sorted files, recursive, as torchvision's ImageFolder") {
    TempDir dir;
    write_ppm(dir / "root" / "dog" / "z.ppm", 1);
    write_ppm(dir / "root" / "dog" / "sub" / "a.PPM", 2);
    write_ppm(dir / "root" / "cat" / "b.ppm", 3);
    write_ppm(dir / "root" / "cat" / "a.ppm", 4);
    write_bytes(dir / "root" / "cat" / "notes.txt", "not an image");
    const auto folder = read_image_folder(dir / "root");
    CHECK(folder.classes == std::vector<std::string>{"cat", "dog"});
    const Dataset& d = folder.dataset;
    CHECK(d.column_names() == std::vector<std::string>{"image", "label"});
    REQUIRE(d.size() == 4);
    std::vector<std::string> names;
    for (std::size_t r = 0; r < 4; ++r)
        names.push_back(std::filesystem::path(describe(std::get<ImageRef>(d.cell(r, 0))))
                            .lexically_relative(dir / "root")
                            .string());
    CHECK(names == std::vector<std::string>{"cat/a.ppm", "cat/b.ppm", "dog/sub/a.PPM", "dog/z.ppm"});
    CHECK(d.label(0, 1) == 0);
    CHECK(d.label(3, 1) == 1);
    std::filesystem::create_directories(dir / "root" / "empty");
    CHECK(error_message([&] {
              read_image_folder(dir / "root");
          }).find("class folder 'empty' holds no image files") != std::string::npos);
    CHECK(error_message([&] { read_image_folder(dir / "nowhere"); }) ==
          (dir / "nowhere").string() + ": no such folder (expected one subfolder per class)");
}

TEST_CASE("read_idx: hand-made files, plain and gzip") {
    TempDir dir;
    const std::string images = std::string("\0\0\x08\x03", 4) + be32(2) + be32(2) + be32(3) + "abcdefABCDEF";
    const std::string labels = std::string("\0\0\x08\x01", 4) + be32(2) + "\x07\x02";
    write_bytes(dir / "images.idx", images);
    write_gzip(dir / "labels.idx.gz", labels);
    const Dataset d = read_idx(dir / "images.idx", dir / "labels.idx.gz");
    REQUIRE(d.size() == 2);
    CHECK(d.label(0, 1) == 7);
    CHECK(d.label(1, 1) == 2);
    const auto img = load(std::get<ImageRef>(d.cell(1, 0)));
    REQUIRE(img.shape()[0] == 2);
    REQUIRE(img.shape()[1] == 3);
    CHECK(img(0, 0, 0) == 'A');
    CHECK(img(1, 2, 1) == 'F');  // grey replicated to RGB

    write_bytes(dir / "short.idx", std::string("\0\0\x08\x01", 4) + be32(3) + "\x01");
    CHECK(error_message([&] { read_idx_array(dir / "short.idx"); }) ==
          (dir / "short.idx").string() + ": expected 3 values after the IDX header, found 1");
    write_bytes(dir / "float.idx", std::string("\0\0\x0d\x01", 4) + be32(1) + "abcd");
    CHECK(error_message([&] { read_idx_array(dir / "float.idx"); }) ==
          (dir / "float.idx").string() +
              ": IDX element type 0xd is not supported (expected 0x08, unsigned bytes)");
    write_bytes(dir / "cut.gz", std::string("\x1f\x8b\x08\x00", 4));
    CHECK(error_message([&] { read_idx_array(dir / "cut.gz"); }).find("gzip") != std::string::npos);
    CHECK(error_message([&] { read_idx(dir / "images.idx", dir / "images.idx"); }) ==
          (dir / "images.idx").string() + ": expected labels [n], found rank 3");
}

TEST_CASE("read_idx: Fashion-MNIST from Debian's dataset-fashion-mnist") {
    const std::filesystem::path root = "/usr/share/datasets/fashion-mnist";
    if (!std::filesystem::exists(root / "t10k-images-idx3-ubyte.gz")) {
        MESSAGE("SKIPPED: this test needs " << (root / "t10k-images-idx3-ubyte.gz").string()
                                            << " (Debian package dataset-fashion-mnist)");
        return;
    }
    const Dataset test = read_idx(root / "t10k-images-idx3-ubyte.gz", root / "t10k-labels-idx1-ubyte.gz");
    REQUIRE(test.size() == 10000);
    std::vector<std::int64_t> first;
    for (std::size_t r = 0; r < 10; ++r) first.push_back(test.label(r, 1));
    CHECK(first == std::vector<std::int64_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});
    std::int64_t label_sum = 0;
    for (std::size_t r = 0; r < test.size(); ++r) label_sum += test.label(r, 1);
    CHECK(label_sum == 45000);  // 1000 of each class 0..9
    const std::vector<long> pixel_sums = {33456, 100994, 51520};
    for (std::size_t r = 0; r < 3; ++r) {
        const auto& d = std::get<DecodedImage>(std::get<ImageRef>(test.cell(r, 0)));
        CHECK(d.height == 28);
        CHECK(d.width == 28);
        const auto px = d.bytes();
        CHECK(std::accumulate(px.begin(), px.end(), 0L) == pixel_sums[r]);
    }
    const Dataset train = read_idx(root / "train-images-idx3-ubyte.gz", root / "train-labels-idx1-ubyte.gz");
    REQUIRE(train.size() == 60000);
    CHECK(train.label(0, 1) == 9);
    CHECK(train.label(3, 1) == 3);
    const auto px = std::get<DecodedImage>(std::get<ImageRef>(train.cell(1, 0))).bytes();
    CHECK(std::accumulate(px.begin(), px.end(), 0L) == 84598);
}
