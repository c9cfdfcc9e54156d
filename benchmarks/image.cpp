// Decode + CLIP preprocessing throughput (images/s) of tandem::image beside PIL +
// torchvision doing the same work (benchmarks/image_pil.py), on 1 and 2 threads.
//
//   benchmarks/image [PHOTO_DIR]
//
// Without PHOTO_DIR, 256 JPEG photos of about 640x480 are made from the shared test
// images into a temporary directory by image_pil.py (Debian's /usr/bin/python3).
#include <tandem/image.hpp>

#include <omp.h>
#include <time.h>
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

double field(const std::string& text, const std::string& name) {
    const auto at = text.find(name + " ");
    return at == std::string::npos ? 0.0 : std::atof(text.c_str() + at + name.size() + 1);
}

struct Speed {
    double images_per_second = 0, cpu_ms_per_image = 0;
};

Speed pil_speed(const fs::path& dir, int threads) {
    const auto out =
        capture(std::string(python) + " " + (source_root / "benchmarks" / "image_pil.py").string() + " run " +
                dir.string() + " --threads " + std::to_string(threads));
    return {field(out, "images_per_second"), field(out, "cpu_ms_per_image")};
}

// Process CPU time: on a shared machine it shows the cost of the work apart from waiting.
double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

Speed tandem_speed(const tandem::image::ImageProcessor& processor, const std::vector<fs::path>& paths) {
    processor.preprocess_files({paths.begin(), paths.begin() + std::min<std::size_t>(16, paths.size())});
    double best = 1e30, best_cpu = 1e30;
    for (int repeat = 0; repeat < 5; ++repeat) {
        const auto start = std::chrono::steady_clock::now();
        const double start_cpu = cpu_seconds();
        const auto batch = processor.preprocess_files(paths);
        best =
            std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        best_cpu = std::min(best_cpu, cpu_seconds() - start_cpu);
    }
    return {paths.size() / best, 1000 * best_cpu / paths.size()};
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
    std::printf("%zu JPEG photos (first %zux%zu) -> CLIP pixel_values [%zu, 3, 224, 224], best of 5\n\n",
                paths.size(), first.shape()[1], first.shape()[0], paths.size());
    std::printf(
        "| threads | tandem (images/s) | PIL + torchvision (images/s) | ratio | tandem CPU ms/image | "
        "PIL + torchvision CPU ms/image |\n");
    std::printf("|---:|---:|---:|---:|---:|---:|\n");
    for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        const auto ours = tandem_speed(processor, paths);
        const auto pil = pil_speed(dir, threads);
        std::printf("| %d | %.1f | %.1f | %.2fx | %.2f | %.2f |\n", threads, ours.images_per_second,
                    pil.images_per_second,
                    pil.images_per_second > 0 ? ours.images_per_second / pil.images_per_second : 0.0,
                    ours.cpu_ms_per_image, pil.cpu_ms_per_image);
        std::fflush(stdout);
    }
    if (argc <= 1) fs::remove_all(dir);
    return 0;
}
