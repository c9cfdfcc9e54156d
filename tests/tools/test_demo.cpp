// tandem demo fashion-mnist, shortened: it learns, writes the files the README promises, and
// its report.html opens in headless Chromium with every image and chart and no console message.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "command.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace tandem::testing;

const fs::path dataset = "/usr/share/datasets/fashion-mnist";

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

// A page that opens the report in a frame once it has loaded and writes what it found:
// every image decoded, every chart drawn.
const char* report_check = R"(<!doctype html><html><body><iframe id="r" src="REPORT"></iframe>
<pre id="out">not loaded</pre><script>
const frame = document.getElementById('r');
frame.addEventListener('load', () => {
  const d = frame.contentDocument, images = [...d.images], svgs = [...d.querySelectorAll('svg')];
  document.getElementById('out').textContent = JSON.stringify({
    images: images.length, broken: images.filter(i => !i.complete || i.naturalWidth === 0).length,
    svgs: svgs.length, drawn: svgs.filter(s => s.querySelector('path,polyline,line,rect,circle')).length});
});
</script></body></html>)";

// Opens `report` in headless Chromium (Debian's chromium); returns what the check page
// found, as JSON, and the browser's console lines (each a message the page logged).
std::pair<nlohmann::json, std::vector<std::string>> open_in_chromium(const fs::path& report,
                                                                     const fs::path& work) {
    std::string page = report_check;
    page.replace(page.find("REPORT"), 6, "file://" + fs::absolute(report).string());
    std::ofstream(work / "check.html") << page;
    const auto [status, output] =
        run("timeout 120 chromium --headless --no-sandbox --disable-gpu --allow-file-access-from-files "
            "--user-data-dir=" +
            (work / "profile").string() +
            " --enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom file://" +
            (work / "check.html").string() + " 2>" + (work / "console.txt").string());
    REQUIRE(status == 0);
    const std::string marker = "<pre id=\"out\">";
    const auto begin = output.find(marker), end = output.find("</pre>", begin);
    REQUIRE(begin != std::string::npos);
    const auto found = output.substr(begin + marker.size(), end - begin - marker.size());
    INFO("the check page says: " << found);
    REQUIRE(found != "not loaded");
    std::vector<std::string> console;
    std::ifstream log(work / "console.txt");
    for (std::string line; std::getline(log, line);)
        if (line.find(":CONSOLE") != std::string::npos) console.push_back(line);
    return {nlohmann::json::parse(found), console};
}

}  // namespace

TEST_CASE(
    "tandem demo fashion-mnist: 60 steps lift zero-shot accuracy far above chance; every file is written") {
    if (!fs::exists(dataset)) {
        MESSAGE("SKIPPED: this test needs Debian's dataset-fashion-mnist in " << dataset.string());
        return;
    }
    const auto out = scratch("demo", "short");
    const auto [status, output] = run_tandem(
        "demo fashion-mnist", "--out " + out.string() + " --steps 60 --train-size 2000 --batch-size 64");
    INFO(output);
    REQUIRE(status == 0);

    REQUIRE(fs::exists(out / "metrics.json"));
    const auto metrics = nlohmann::json::parse(read_bytes(out / "metrics.json"));
    for (const auto* key :
         {"zero_shot_accuracy", "i2t_recall@1", "t2i_recall@1", "t2i_recall@5", "t2i_recall@10",
          "train_seconds", "steps", "step_ms_median", "images_per_second", "threads", "seed"})
        CHECK_MESSAGE(metrics.contains(key), key);
    CHECK(metrics.at("steps") == 60);
    CHECK(metrics.at("seed") == 42);
    // Ten classes: chance is 0.1. After 60 steps at batch 64 the model reaches about 0.55.
    CHECK(metrics.at("zero_shot_accuracy").get<double>() > 0.4);
    CHECK(metrics.at("t2i_recall@1").get<double>() <= metrics.at("t2i_recall@5").get<double>());
    CHECK(metrics.at("t2i_recall@5").get<double>() <= metrics.at("t2i_recall@10").get<double>());

    // The per-step loss is noisy (captions repeat within a batch): compare the mean of the first five steps
    // with the mean of the last ten.
    std::ifstream log(out / "training" / "training_log.jsonl");
    REQUIRE(log);
    std::vector<double> losses;
    for (std::string line; std::getline(log, line);)
        if (const auto entry = nlohmann::json::parse(line); entry.contains("loss"))
            losses.push_back(entry.at("loss").get<double>());
    REQUIRE(losses.size() == 60);
    const auto mean = [](auto first, auto last) {
        return std::accumulate(first, last, 0.0) / (last - first);
    };
    CHECK(mean(losses.end() - 10, losses.end()) < 0.8 * mean(losses.begin(), losses.begin() + 5));

    for (const auto* file :
         {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json", "modules.json"})
        CHECK_MESSAGE(fs::exists(out / "model" / file), file);
    // The folder is a sentence-transformers model that encodes captions into the 64-wide
    // space, with a model card stating the loss and the metrics.
    std::ofstream(out / "captions.txt") << "a photo of a sneaker\nan image of a bag\n";
    const auto [encoded, encode_log] = run_tandem(
        "encode", "--model " + (out / "model").string() + " --texts " + (out / "captions.txt").string() +
                      " --out " + (out / "captions.npy").string());
    INFO(encode_log);
    REQUIRE(encoded == 0);
    const auto captions = xt::load_npy<float>((out / "captions.npy").string());
    CHECK(captions.shape(0) == 2);
    CHECK(captions.shape(1) == 64);
    const auto card = read_bytes(out / "model" / "README.md");
    CHECK(card.find("- **Loss:** CLIPLoss") != std::string::npos);
    CHECK(card.find("| zero_shot_accuracy | ") != std::string::npos);
    REQUIRE(fs::exists(out / "report.html"));
    const auto report = read_bytes(out / "report.html");
    CHECK(count(report, "<svg") >= 3);
    CHECK(count(report, "data:image/png;base64,") >= 10);

    if (run("command -v chromium").first != 0) {
        MESSAGE("SKIPPED: opening report.html needs Debian's chromium");
        return;
    }
    const auto [page, console] = open_in_chromium(out / "report.html", scratch("demo", "browser"));
    INFO("report.html in Chromium: " << page.dump());
    CHECK(page.at("images").get<int>() >= 10);
    CHECK(page.at("broken") == 0);
    CHECK(page.at("svgs").get<int>() >= 3);
    CHECK(page.at("drawn") == page.at("svgs"));
    for (const auto& line : console) FAIL_CHECK("report.html logged to the console: " << line);
}

TEST_CASE("tandem demo fashion-mnist: bad arguments name the option or file") {
    const auto out = scratch("demo", "bad").string();
    const std::pair<std::string, std::string> cases[] = {
        {"--out " + out + " --steps 0", "--steps: expected a positive integer, found '0'"},
        {"--out " + out + " --data /nonexistent", "/nonexistent/train-images-idx3-ubyte[.gz]: not found"},
        {"--out " + out + " --bogus 1", "The following arguments were not expected: 1 --bogus"},
        {"", "--out is required"},
    };
    for (const auto& [arguments, expected] : cases) {
        const auto [status, output] = run_tandem("demo fashion-mnist", arguments);
        INFO(arguments);
        CHECK(status != 0);
        CHECK_MESSAGE(output.find(expected) != std::string::npos, output);
    }
}
