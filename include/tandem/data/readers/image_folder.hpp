// An image folder with one subfolder per class, as torchvision's `ImageFolder`: the
// classes are the subfolder names in sorted order, label i is the i-th class, and the
// images are the files with an image extension under each class folder (recursively),
// in sorted order. Columns `image` (paths) and `label`.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/detail/table.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tandem::data {

struct ImageFolder {
    Dataset dataset;
    std::vector<std::string> classes;
};

inline ImageFolder read_image_folder(const std::filesystem::path& root) {
    using tandem::detail::throw_error;
    namespace fs = std::filesystem;
    if (!fs::is_directory(root))
        throw_error(root.string(), ": no such folder (expected one subfolder per class)");
    ImageFolder out;
    for (const auto& entry : fs::directory_iterator(root))
        if (entry.is_directory()) out.classes.push_back(entry.path().filename().string());
    std::sort(out.classes.begin(), out.classes.end());
    if (out.classes.empty())
        throw_error(root.string(), ": no class folders found, expected one subfolder per class");
    std::vector<ImageRef> images;
    std::vector<std::int64_t> labels;
    for (std::size_t label = 0; label < out.classes.size(); ++label) {
        std::vector<fs::path> files;
        for (const auto& entry : fs::recursive_directory_iterator(
                 root / out.classes[label], fs::directory_options::follow_directory_symlink))
            if (entry.is_regular_file() && detail::has_image_extension(entry.path()))
                files.push_back(entry.path());
        if (files.empty())
            throw_error(
                root.string(), ": class folder '", out.classes[label],
                "' holds no image files (expected .jpg, .jpeg, .png, .ppm, .bmp, .pgm, .tif, .tiff, .webp)");
        std::sort(files.begin(), files.end());
        for (auto& f : files) {
            images.push_back(ImageFile{std::move(f)});
            labels.push_back(static_cast<std::int64_t>(label));
        }
    }
    out.dataset = Dataset({Column("image", std::move(images)), Column("label", std::move(labels))});
    return out;
}

}  // namespace tandem::data
