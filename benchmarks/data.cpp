// Loader throughput (images/s) of tandem::data beside PyTorch's DataLoader with
// torchvision transforms (benchmarks/data_torch.py) on the same files, in the same run,
// at 1 and 2 threads: CLIP ViT-B/32 batches (32 x 3 x 224 x 224) from JPEG photos, and
// tiny-CLIP batches (256 x 3 x 30 x 30) from the Fashion-MNIST test set (IDX, gzip).
//
//   benchmarks/setup_venv.sh            # once: torch and torchvision from PyPI
//   benchmarks/data [PHOTO_DIR]
//
// Without PHOTO_DIR, 256 photos of about 640x480 are made by image_pil.py. The PyTorch
// side runs in $TANDEM_BENCH_PYTHON (default: the venv setup_venv.sh makes).
#include <tandem/backend/cpu.hpp>
#include <tandem/data.hpp>

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
using namespace tandem::data;

namespace {

const fs::path source_root = TANDEM_SOURCE_ROOT;
const fs::path fashion = "/usr/share/datasets/fashion-mnist";

std::string capture(const std::string& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) return {};
    std::string out;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
    return out;
}

struct Speed {
    double images_per_second = 0, cpu_ms_per_image = 0;
};

// "NAME images_per_second X cpu_ms_per_image Y" in data_torch.py's output.
Speed field(const std::string& text, const std::string& name) {
    Speed s;
    const auto at = text.find(name + " images_per_second ");
    if (at == std::string::npos) return s;
    std::sscanf(text.c_str() + at + name.size(), " images_per_second %lf cpu_ms_per_image %lf",
                &s.images_per_second, &s.cpu_ms_per_image);
    return s;
}

// Process CPU time, all threads: on a shared machine it shows the work apart from waiting.
double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Best of `repeat` epochs (after one warm-up epoch): images per second, CPU ms per image.
Speed best_rate(const Dataset& d, tandem::image::ImageProcessor processor, std::size_t batch,
                std::size_t threads, int repeat) {
    DataLoader<tandem::Cpu, DefaultBatchSampler> loader(d, DefaultBatchSampler(d, {.batch_size = batch}),
                                                        Collator(std::nullopt, processor),
                                                        {.num_workers = threads, .prefetch = 2 * threads});
    double best = 1e30, best_cpu = 1e30;
    for (int epoch = 0; epoch <= repeat; ++epoch) {
        loader.set_epoch(static_cast<std::uint64_t>(epoch));
        const auto start = std::chrono::steady_clock::now();
        const double start_cpu = cpu_seconds();
        std::size_t n = 0;
        while (auto b = loader.next()) n += b->size();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (n != d.size()) std::abort();
        if (epoch > 0) best = std::min(best, s), best_cpu = std::min(best_cpu, cpu_seconds() - start_cpu);
    }
    const auto n = static_cast<double>(d.size());
    return {n / best, 1000 * best_cpu / n};
}

}  // namespace

int main(int argc, char** argv) {
    omp_set_num_threads(1);  // the loader's own threads do the work, one batch each
    fs::path photos;
    if (argc > 1) {
        photos = argv[1];
    } else {
        photos = fs::temp_directory_path() / ("tandem-data-bench-" + std::to_string(getpid()));
        const std::string make =
            "/usr/bin/python3 " + (source_root / "benchmarks" / "image_pil.py").string() + " make " +
            photos.string() + " --source " + (source_root / ".." / "shared" / "data" / "images").string();
        if (std::system(make.c_str()) != 0) return 1;
    }
    const fs::path idx_images = fashion / "t10k-images-idx3-ubyte.gz";
    if (!fs::exists(idx_images)) {
        std::fprintf(stderr, "needs %s (Debian package dataset-fashion-mnist)\n", idx_images.c_str());
        return 1;
    }
    const char* env = std::getenv("TANDEM_BENCH_PYTHON");
    const std::string python = env ? env
                                   : (fs::path(std::getenv("HOME") ? std::getenv("HOME") : "/root") /
                                      ".cache/tandem/bench-venv/bin/python")
                                         .string();

    std::vector<ImageRef> files;
    for (const auto& e : fs::directory_iterator(photos))
        if (e.path().extension() == ".jpg") files.push_back(image_file(e.path()));
    std::sort(files.begin(), files.end(),
              [](const ImageRef& a, const ImageRef& b) { return describe(a) < describe(b); });
    const Dataset jpeg({Column("image", std::move(files))});
    const Dataset idx = read_idx(idx_images, fashion / "t10k-labels-idx1-ubyte.gz");
    auto tiny = tandem::image::ImageProcessor::clip();
    tiny.shortest_edge = tiny.crop_height = tiny.crop_width = 30;

    std::printf("photos: %zu JPEG files in %s; Fashion-MNIST: %zu IDX images\n", jpeg.size(), photos.c_str(),
                idx.size());
    std::printf(
        "| batches | threads | tandem images/s | PyTorch images/s | ratio | tandem CPU ms/image | PyTorch "
        "CPU "
        "ms/image | CPU ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (std::size_t threads : {1u, 2u}) {
        const Speed t_jpeg = best_rate(jpeg, tandem::image::ImageProcessor::clip(), 32, threads, 3);
        const Speed t_idx = best_rate(idx, tiny, 256, threads, 3);
        const std::string out = capture(
            python + " " + (source_root / "benchmarks" / "data_torch.py").string() + " " + photos.string() +
            " " + idx_images.string() + " " + std::to_string(threads) + " 2>/dev/null");
        if (threads == 1) {
            const auto v = out.find("versions ");
            if (v != std::string::npos)
                std::fprintf(stderr, "%s", out.substr(v, out.find('\n', v) - v + 1).c_str());
        }
        auto row = [&](const char* what, const Speed& t, const Speed& p) {
            std::printf("| %s | %zu | %.1f | %.1f | %.2fx | %.3f | %.3f | %.2fx |\n", what, threads,
                        t.images_per_second, p.images_per_second,
                        p.images_per_second > 0 ? t.images_per_second / p.images_per_second : 0.0,
                        t.cpu_ms_per_image, p.cpu_ms_per_image,
                        t.cpu_ms_per_image > 0 ? p.cpu_ms_per_image / t.cpu_ms_per_image : 0.0);
        };
        row("CLIP ViT-B/32, 32 x 224² from JPEG", t_jpeg, field(out, "clip_jpeg"));
        row("tiny CLIP, 256 x 30² from Fashion-MNIST IDX", t_idx, field(out, "tiny_idx"));
        std::fflush(stdout);
    }
    if (argc <= 1) fs::remove_all(photos);
    return 0;
}
