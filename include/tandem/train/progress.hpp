// Training progress for people: on a terminal one bar redrawn in place (step, loss,
// learning rate, samples per second, time left), as the tqdm bar of transformers'
// Trainer; elsewhere (a log file, CI) one plain line per logging step, so logs stay
// readable and grep-able.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>

namespace tandem {

struct ProgressInfo {
    std::int64_t step = 0, max_steps = 0;
    double epoch = 0;
    double loss = 0, learning_rate = 0;
    double samples_per_second = 0, seconds_left = 0;
};

namespace detail {
inline std::string format_duration(double seconds) {
    const auto s = static_cast<std::int64_t>(seconds < 0 ? 0 : seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    else
        std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    return buf;
}

inline std::string progress_fields(const ProgressInfo& p) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "loss %.4f  lr %.3g  %.1f samples/s  %s left", p.loss, p.learning_rate,
                  p.samples_per_second, format_duration(p.seconds_left).c_str());
    return buf;
}
}  // namespace detail

class ProgressReporter {
public:
    // `out` null: silent. `bar` unset: a bar when stderr is a terminal and `out` is std::cerr's stream.
    ProgressReporter(std::ostream* out, bool bar) : out_(out), bar_(bar) {}

    static bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

    // Every step: redraws the bar (nothing in plain mode).
    void step(const ProgressInfo& p) {
        if (!out_ || !bar_) return;
        constexpr int width = 24;
        const int filled = p.max_steps > 0 ? static_cast<int>(width * p.step / p.max_steps) : 0;
        std::ostringstream line;
        line << "\r" << p.step << "/" << p.max_steps << " [" << std::string(filled, '#')
             << std::string(width - filled, '.') << "] " << detail::progress_fields(p) << "\x1b[K";
        *out_ << line.str() << std::flush;
        drawn_ = true;
    }

    // Every logging step: one line in plain mode.
    void log(const ProgressInfo& p) {
        if (!out_ || bar_) return;
        char head[96];
        std::snprintf(head, sizeof head, "step %lld/%lld  epoch %.2f  ", static_cast<long long>(p.step),
                      static_cast<long long>(p.max_steps), p.epoch);
        *out_ << head << detail::progress_fields(p) << "\n" << std::flush;
    }

    // Any other message (an evaluation, a checkpoint), on its own line below the bar.
    void message(const std::string& text) {
        if (!out_) return;
        if (drawn_) *out_ << "\n";
        drawn_ = false;
        *out_ << text << "\n" << std::flush;
    }

    void finish() {
        if (out_ && drawn_) *out_ << "\n" << std::flush;
        drawn_ = false;
    }

private:
    std::ostream* out_;
    bool bar_;
    bool drawn_ = false;
};

}  // namespace tandem
