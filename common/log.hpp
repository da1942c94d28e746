// Logging to stderr with a level; under systemd stderr goes to the journal, which adds the
// timestamp. One Logger is made by main() and passed by reference: no global logger.
#pragma once
#include <cstdarg>
#include <cstdio>

namespace iser {

enum class LogLevel { Error = 0, Warning = 1, Info = 2, Debug = 3 };

class Logger {
public:
    explicit Logger(LogLevel level = LogLevel::Info, std::FILE* out = stderr) : level_(level), out_(out) {}
    void set_level(LogLevel level) { level_ = level; }
    bool enabled(LogLevel level) const { return level <= level_; }

    [[gnu::format(printf, 3, 4)]] void log(LogLevel level, const char* fmt, ...) const {
        if (!enabled(level)) return;
        static constexpr const char* prefix[] = {"<3>error: ", "<4>warning: ", "<6>", "<7>debug: "};
        std::va_list args;
        va_start(args, fmt);
        std::fputs(prefix[int(level)], out_);
        std::vfprintf(out_, fmt, args);
        std::fputc('\n', out_);
        std::fflush(out_);
        va_end(args);
    }

private:
    LogLevel level_;
    std::FILE* out_;
};

#define ISER_LOG_ERROR(logger, ...) (logger).log(::iser::LogLevel::Error, __VA_ARGS__)
#define ISER_LOG_WARN(logger, ...) (logger).log(::iser::LogLevel::Warning, __VA_ARGS__)
#define ISER_LOG_INFO(logger, ...) (logger).log(::iser::LogLevel::Info, __VA_ARGS__)
#define ISER_LOG_DEBUG(logger, ...) \
    do { if ((logger).enabled(::iser::LogLevel::Debug)) (logger).log(::iser::LogLevel::Debug, __VA_ARGS__); } while (0)

}  // namespace iser
