// The retrieval numbers of an image-text model on a labelled test set, and the HTML page
// that shows a training run: its metrics, the loss, learning-rate and evaluation curves
// as inline SVG and, for a labelled image test set (the demo's), the confusion matrix of
// zero-shot classification and the test images each class prompt retrieves first. One
// self-contained file: the pictures are inline PNGs.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/detail/atomic_file.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>
#include <nlohmann/json.hpp>
#include <xtensor/xtensor.hpp>

namespace tandem::cli::report {

struct Retrieval {
    // Each test image's best prompt is of its class.
    double i2t_recall_at_1 = 0;
    // Recall at 1, 5 and 10 of prompt -> images: some image of the prompt's class is among the first k.
    std::vector<double> t2i_recall;
    // [true class][predicted class] over the first `classes` prompts (one per class).
    std::vector<std::vector<std::size_t>> confusion;
    // The test images each class prompt ranks first.
    std::vector<std::vector<std::size_t>> top_images;
};

// images [n, d] and prompts [p, d], both L2-normalised; prompt j is of class j % classes.
inline Retrieval retrieval(const xt::xtensor<float, 2>& images, const xt::xtensor<float, 2>& prompts,
                           const std::vector<std::int64_t>& labels, std::size_t classes) {
    const std::size_t n = images.shape(0), p = prompts.shape(0), d = images.shape(1);
    if (labels.size() != n || prompts.shape(1) != d || p < classes)
        detail::throw_error("retrieval: ", n, " images of width ", d, " with ", labels.size(), " labels and ",
                            p, " prompts of width ", prompts.shape(1), " for ", classes, " classes");
    std::vector<float> sims(n * p);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < p; ++j) {
            float s = 0;
            for (std::size_t k = 0; k < d; ++k) s += images(i, k) * prompts(j, k);
            sims[i * p + j] = s;
        }
    Retrieval r;
    r.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
    std::size_t hits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float* row = &sims[i * p];
        hits += std::size_t(std::max_element(row, row + p) - row) % classes == std::size_t(labels[i]);
        const auto predicted = std::size_t(std::max_element(row, row + classes) - row);
        ++r.confusion[std::size_t(labels[i])][predicted];
    }
    r.i2t_recall_at_1 = double(hits) / double(n);
    const std::vector<std::size_t> ks = {1, 5, 10};
    std::vector<std::size_t> found(ks.size(), 0);
    std::vector<std::size_t> order(n);
    for (std::size_t j = 0; j < p; ++j) {
        std::iota(order.begin(), order.end(), 0);
        const std::size_t depth = std::min<std::size_t>(n, 10);
        // Ties go to the lower index, so the ranking does not depend on the sort.
        std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(depth), order.end(),
                          [&](std::size_t a, std::size_t b) {
                              return sims[a * p + j] > sims[b * p + j] ||
                                     (sims[a * p + j] == sims[b * p + j] && a < b);
                          });
        for (std::size_t k = 0; k < ks.size(); ++k)
            for (std::size_t rank = 0; rank < std::min(ks[k], depth); ++rank)
                if (std::size_t(labels[order[rank]]) == j % classes) {
                    ++found[k];
                    break;
                }
        if (j < classes)
            r.top_images.emplace_back(order.begin(),
                                      order.begin() + std::ptrdiff_t(std::min<std::size_t>(depth, 8)));
    }
    for (std::size_t k = 0; k < ks.size(); ++k) r.t2i_recall.push_back(double(found[k]) / double(p));
    return r;
}

struct Page {
    std::string title;
    nlohmann::json metrics;
    nlohmann::json log_history;
    std::vector<std::string> classes;
    std::vector<std::string> class_prompts;
    Retrieval results;
    // The test images, grey, side x side each, one after another from test_offset.
    std::shared_ptr<const std::vector<std::uint8_t>> test_pixels;
    std::size_t test_offset = 0, side = 28;
};

namespace detail {

inline std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else if (c == '&')
            out += "&amp;";
        else if (c == '"')
            out += "&quot;";
        else
            out += c;
    }
    return out;
}

inline std::string base64(const std::string& bytes) {
    static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16 |
                                std::uint32_t(std::uint8_t(bytes[i + 1])) << 8 | std::uint8_t(bytes[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out += table[(v >> s) & 63];
    }
    if (i < bytes.size()) {
        std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        if (i + 1 < bytes.size()) v |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// A grey image as a data: URI holding a PNG.
inline std::string png_uri(const std::uint8_t* pixels, std::size_t side) {
    std::string png;
    const int ok = stbi_write_png_to_func(
        [](void* context, void* data, int size) {
            static_cast<std::string*>(context)->append(static_cast<const char*>(data), std::size_t(size));
        },
        &png, int(side), int(side), 1, pixels, int(side));
    if (!ok) tandem::detail::throw_error("report: could not encode a test image as PNG");
    return "data:image/png;base64," + base64(png);
}

// One curve over the training steps: `key` of each log_history entry that has it.
inline std::string svg_curve(const nlohmann::json& log, const std::string& key, const std::string& label) {
    std::vector<std::pair<double, double>> points;
    for (const auto& e : log)
        if (e.contains(key) && e.contains("step") && e.at(key).is_number())
            points.emplace_back(e.at("step").get<double>(), e.at(key).get<double>());
    if (points.empty()) return "<p>no " + escape(label) + " was logged</p>";
    double x0 = points.front().first, x1 = points.back().first, y0 = points[0].second, y1 = y0;
    for (const auto& [x, y] : points) {
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
    }
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1;
    const double w = 560, h = 200, left = 60, top = 20;
    std::string path;
    for (const auto& [x, y] : points)
        path += std::to_string(left + (x - x0) / (x1 - x0) * w) + "," +
                std::to_string(top + h - (y - y0) / (y1 - y0) * h) + " ";
    auto number = [](double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4g", v);
        return std::string(buf);
    };
    return "<figure><svg class=\"curve\" viewBox=\"0 0 640 250\" width=\"640\" height=\"250\" role=\"img\" "
           "aria-label=\"" +
           escape(label) + "\">" +
           "<rect x=\"60\" y=\"20\" width=\"560\" height=\"200\" fill=\"none\" stroke=\"#999\"/>" +
           "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"" + path + "\"/>" +
           "<text x=\"55\" y=\"25\" text-anchor=\"end\">" + number(y1) + "</text>" +
           "<text x=\"55\" y=\"220\" text-anchor=\"end\">" + number(y0) + "</text>" +
           "<text x=\"60\" y=\"240\">step " + number(x0) + "</text>" +
           "<text x=\"620\" y=\"240\" text-anchor=\"end\">step " + number(x1) + "</text></svg>" +
           "<figcaption>" + escape(label) + "</figcaption></figure>";
}

}  // namespace detail

inline void write_html(const std::filesystem::path& path, const Page& page) {
    using detail::escape;
    std::string html =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escape(page.title) +
        "</title><style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        "td.n{text-align:right}img.t{width:56px;height:56px;image-rendering:pixelated;margin:2px}"
        "figure{display:inline-block;margin:0 1em 1em 0}</style></head><body>\n<h1>" +
        escape(page.title) + "</h1>\n<h2>Metrics</h2>\n<table>";
    for (const auto& [k, v] : page.metrics.items())
        html += "<tr><th>" + escape(k) + "</th><td class=\"n\">" + escape(v.dump()) + "</td></tr>";
    html += "</table>\n<h2>Training</h2>\n" + detail::svg_curve(page.log_history, "loss", "training loss") +
            detail::svg_curve(page.log_history, "learning_rate", "learning rate") +
            detail::svg_curve(page.log_history, "grad_norm", "gradient norm before clipping");
    // Each evaluation metric the trainer logged, in the order of its first appearance.
    std::vector<std::string> evaluated;
    for (const auto& e : page.log_history)
        for (const auto& [k, v] : e.items())
            if (k.rfind("eval_", 0) == 0 && v.is_number() &&
                std::find(evaluated.begin(), evaluated.end(), k) == evaluated.end())
                evaluated.push_back(k);
    if (!evaluated.empty()) html += "\n<h2>Evaluation</h2>\n";
    for (const auto& k : evaluated) html += detail::svg_curve(page.log_history, k, k);
    if (page.classes.empty()) {
        io::atomic_write(path, html + "\n</body></html>\n");
        return;
    }

    const auto& confusion = page.results.confusion;
    html +=
        "\n<h2>Zero-shot confusion matrix</h2>\n<p>Rows: true class; columns: the class whose prompt scores "
        "highest.</p><table><tr><th></th>";
    for (const auto& c : page.classes) html += "<th>" + escape(c) + "</th>";
    html += "</tr>";
    for (std::size_t t = 0; t < confusion.size(); ++t) {
        std::size_t total = 0;
        for (auto v : confusion[t]) total += v;
        html += "<tr><th>" + escape(page.classes[t]) + "</th>";
        for (std::size_t p = 0; p < confusion[t].size(); ++p) {
            const double share = total ? double(confusion[t][p]) / double(total) : 0;
            html += "<td class=\"n\" style=\"background:rgba(31,111,235," + std::to_string(share) + ")\">" +
                    std::to_string(confusion[t][p]) + "</td>";
        }
        html += "</tr>";
    }
    html += "</table>\n<h2>What each class prompt retrieves</h2>\n<table>";
    const std::size_t side = page.side;
    for (std::size_t c = 0; c < page.results.top_images.size(); ++c) {
        html += "<tr><th>" + escape(page.class_prompts.at(c)) + "</th><td>";
        for (std::size_t i : page.results.top_images[c])
            html += "<img class=\"t\" alt=\"test image " + std::to_string(i) + "\" src=\"" +
                    detail::png_uri(page.test_pixels->data() + page.test_offset + i * side * side, side) +
                    "\">";
        html += "</td></tr>";
    }
    html += "</table>\n</body></html>\n";
    io::atomic_write(path, html);
}

}  // namespace tandem::cli::report
