// Decode + CLIP preprocessing throughput (images/s) of tandem::image beside PIL +
// torchvision doing the same work (benchmarks/image_pil.py), on 1 and 2 threads.
//
//   benchmark_image [PHOTO_DIR]
//
// Without PHOTO_DIR, 256 JPEG photos of about 640x480 are made from the shared test
// images into a temporary directory by image_pil.py (Debian's /usr/bin/python3).
#include <tandem/image.hpp>

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path source_root = TANDEM_SOURCE_ROOT;
const char* python = "/usr/bin/python3";

std::string capture(const std::string& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) return {};
    std::string out;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
    return out;
}

double pil_images_per_second(const fs::path& dir, int threads) {
    const auto out =
        capture(std::string(python) + " " + (source_root / "benchmarks" / "image_pil.py").string() + " run " +
                dir.string() + " --threads " + std::to_string(threads));
    const auto at = out.find("images_per_second ");
    return at == std::string::npos ? 0.0 : std::atof(out.c_str() + at + 18);
}

}  // namespace

int main(int argc, char** argv) {
    fs::path dir;
    if (argc > 1) {
        dir = argv[1];
    } else {
        const char* data = std::getenv("TANDEM_TEST_DATA");
        const fs::path images =
            (data && *data ? fs::path(data) : source_root / ".." / "shared" / "data") / "images";
        dir = fs::temp_directory_path() / ("tandem_bench_photos_" + std::to_string(::getpid()));
        const auto command = std::string(python) + " " +
                             (source_root / "benchmarks" / "image_pil.py").string() + " make " +
                             dir.string() + " --source " + images.string();
        if (std::system(command.c_str()) != 0) {
            std::fprintf(stderr, "could not make the photos (%s)\n", command.c_str());
            return 1;
        }
    }
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".jpg") paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    if (paths.empty()) {
        std::fprintf(stderr, "no .jpg photos in %s\n", dir.string().c_str());
        return 1;
    }

    const auto processor = tandem::image::ImageProcessor::clip();
    const auto first = tandem::image::load_image(paths[0]);
    std::printf("%zu JPEG photos (first %zux%zu) -> CLIP pixel_values [%zu, 3, 224, 224], best of 3\n\n",
                paths.size(), first.shape()[1], first.shape()[0], paths.size());
    std::printf("| threads | tandem (images/s) | PIL + torchvision (images/s) | ratio |\n");
    std::printf("|---:|---:|---:|---:|\n");
    for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        processor.preprocess_files({paths.begin(), paths.begin() + std::min<std::size_t>(16, paths.size())});
        double best = 1e30;
        for (int repeat = 0; repeat < 3; ++repeat) {
            const auto start = std::chrono::steady_clock::now();
            const auto batch = processor.preprocess_files(paths);
            best = std::min(best,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        const double ours = paths.size() / best;
        const double pil = pil_images_per_second(dir, threads);
        std::printf("| %d | %.1f | %.1f | %.2fx |\n", threads, ours, pil, pil > 0 ? ours / pil : 0.0);
        std::fflush(stdout);
    }
    if (argc <= 1) fs::remove_all(dir);
    return 0;
}
