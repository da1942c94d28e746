#include "ublk/device_record.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/unique_fd.hpp"

namespace iser::ublk {
namespace {

void append_string(std::string& out, std::string_view s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
        }
    }
    out += '"';
}

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// A tiny reader for the one shape a record has: an object of numbers, strings and (one level
// of) objects of strings. Not a general JSON parser.
class Reader {
public:
    explicit Reader(std::string_view text) : s_(text) {}

    Error error(const std::string& what) const {
        return make_error(EINVAL, "device record: " + what + " at byte " + std::to_string(pos_));
    }
    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
    }
    bool eat(char c) {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    char peek() {
        skip_ws();
        return pos_ < s_.size() ? s_[pos_] : '\0';
    }
    bool at_end() {
        skip_ws();
        return pos_ == s_.size();
    }

    Result<std::string> string() {
        if (!eat('"')) return error("expected a string");
        std::string out;
        while (pos_ < s_.size()) {
            char c = s_[pos_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) return error("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= s_.size()) break;
            char e = s_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    if (pos_ + 4 > s_.size()) return error("short \\u escape");
                    unsigned v = 0;
                    auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + pos_ + 4, v, 16);
                    if (ec != std::errc{} || p != s_.data() + pos_ + 4) return error("bad \\u escape");
                    if (v >= 0x80) return error("non-ASCII \\u escape");  // records only carry ASCII
                    out += char(v);
                    pos_ += 4;
                    break;
                }
                default: return error("bad escape");
            }
        }
        return error("unterminated string");
    }

    Result<std::int64_t> integer() {
        skip_ws();
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), v);
        if (ec != std::errc{}) return error("expected an integer");
        pos_ = std::size_t(p - s_.data());
        return v;
    }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

std::string record_path(const std::string& dir, int dev_id) { return dir + "/" + std::to_string(dev_id) + ".json"; }

Status make_dirs(const std::string& dir) {
    for (std::size_t at = 1; at <= dir.size(); ++at) {
        if (at != dir.size() && dir[at] != '/') continue;
        std::string part = dir.substr(0, at);
        if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
            int e = errno;
            return make_error(e, "cannot create " + part + ": " + std::strerror(e));
        }
    }
    return {};
}

}  // namespace

std::string encode_record(const DeviceRecord& r) {
    std::string out = "{\"dev_id\":" + std::to_string(r.dev_id) + ",\"cookie\":\"" + hex64(r.cookie) +
                      "\",\"size_bytes\":" + std::to_string(r.size_bytes) +
                      ",\"logical_block_size\":" + std::to_string(r.logical_block_size) +
                      ",\"queues\":" + std::to_string(r.queues) + ",\"depth\":" + std::to_string(r.depth) +
                      ",\"pid\":" + std::to_string(r.pid) + ",\"identity\":{";
    bool first = true;
    for (const auto& [k, v] : r.identity) {
        if (!first) out += ',';
        first = false;
        append_string(out, k);
        out += ':';
        append_string(out, v);
    }
    out += "}}";
    return out;
}

Result<DeviceRecord> decode_record(std::string_view json) {
    Reader in(json);
    DeviceRecord r;
    bool have_id = false, have_cookie = false;
    if (!in.eat('{')) return in.error("expected '{'");
    if (!in.eat('}')) {
        do {
            auto key = in.string();
            if (!key) return key.take_error();
            if (!in.eat(':')) return in.error("expected ':'");
            const std::string& k = *key;
            auto number = [&](auto& field, std::int64_t lo, std::int64_t hi) -> Status {
                auto v = in.integer();
                if (!v) return v.take_error();
                if (*v < lo || *v > hi) return in.error("\"" + k + "\" out of range");
                field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
                return {};
            };
            Status st;
            if (k == "dev_id") {
                st = number(r.dev_id, 0, 1 << 20);
                have_id = true;
            } else if (k == "size_bytes") {
                st = number(r.size_bytes, 0, INT64_MAX);
            } else if (k == "logical_block_size") {
                st = number(r.logical_block_size, 0, UINT32_MAX);
            } else if (k == "queues") {
                st = number(r.queues, 0, UINT32_MAX);
            } else if (k == "depth") {
                st = number(r.depth, 0, UINT32_MAX);
            } else if (k == "pid") {
                st = number(r.pid, INT64_MIN, INT64_MAX);
            } else if (k == "cookie") {
                auto v = in.string();
                if (!v) return v.take_error();
                const std::string& h = *v;
                auto [p, ec] = std::from_chars(h.data(), h.data() + h.size(), r.cookie, 16);
                if (h.empty() || h.size() > 16 || ec != std::errc{} || p != h.data() + h.size())
                    return in.error("\"cookie\" is not 1..16 hex digits");
                have_cookie = true;
            } else if (k == "identity") {
                if (!in.eat('{')) return in.error("\"identity\" is not an object");
                if (!in.eat('}')) {
                    do {
                        auto ik = in.string();
                        if (!ik) return ik.take_error();
                        if (!in.eat(':')) return in.error("expected ':'");
                        auto iv = in.string();
                        if (!iv) return iv.take_error();
                        r.identity[*ik] = *iv;
                    } while (in.eat(','));
                    if (!in.eat('}')) return in.error("expected '}' after identity");
                }
            } else if (in.peek() == '"') {  // unknown keys from a newer writer: skip simple values
                auto v = in.string();
                if (!v) return v.take_error();
            } else {
                auto v = in.integer();
                if (!v) return in.error("unsupported value for \"" + k + "\"");
            }
            if (!st) return st.take_error();
        } while (in.eat(','));
        if (!in.eat('}')) return in.error("expected '}'");
    }
    if (!in.at_end()) return in.error("trailing data");
    if (!have_id) return make_error(EINVAL, "device record: no \"dev_id\"");
    if (!have_cookie || r.cookie == 0) return make_error(EINVAL, "device record: no \"cookie\"");
    return r;
}

std::uint64_t new_device_cookie() {
    std::uint64_t v = 0;
    while (v == 0) {
        if (::getrandom(&v, sizeof v, 0) != ssize_t(sizeof v)) {
            // getrandom cannot really fail for 8 bytes once the pool is ready; stay non-zero.
            v = std::uint64_t(::getpid()) << 32 ^ std::uint64_t(std::time(nullptr));
        }
    }
    return v;
}

Status write_record(const std::string& dir, const DeviceRecord& record) {
    auto st = make_dirs(dir);
    if (!st) return st;
    const std::string path = record_path(dir, record.dev_id);
    const std::string tmp = path + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) {
        int e = errno;
        return make_error(e, "cannot create " + tmp + ": " + std::strerror(e));
    }
    const std::string text = encode_record(record) + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            ::unlink(tmp.c_str());
            return make_error(e, "cannot write " + tmp + ": " + std::strerror(e));
        }
        done += std::size_t(n);
    }
    if (::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return make_error(e, "cannot store " + path + ": " + std::strerror(e));
    }
    return {};
}

Result<DeviceRecord> read_record(const std::string& dir, int dev_id) {
    const std::string path = record_path(dir, dev_id);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        int e = errno;
        if (e == ENOENT) return make_error(ENOENT, "no record for ublk device " + std::to_string(dev_id) + " in " + dir);
        return make_error(e, "cannot open " + path + ": " + std::strerror(e));
    }
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            return make_error(e, "cannot read " + path + ": " + std::strerror(e));
        }
        if (n == 0) break;
        text.append(buf, std::size_t(n));
        if (text.size() > 65536) return make_error(EINVAL, path + ": too large for a device record");
    }
    auto r = decode_record(text);
    if (!r) return make_error(r.error().code, path + ": " + r.error().message);
    if (r->dev_id != dev_id)
        return make_error(EINVAL, path + ": names ublk device " + std::to_string(r->dev_id) + ", not " +
                                      std::to_string(dev_id));
    return r;
}

Status remove_record(const std::string& dir, int dev_id) {
    const std::string path = record_path(dir, dev_id);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        int e = errno;
        return make_error(e, "cannot remove " + path + ": " + std::strerror(e));
    }
    return {};
}

std::vector<DeviceRecord> list_records(const std::string& dir) {
    std::vector<DeviceRecord> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        constexpr std::string_view suffix = ".json";
        if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) continue;
        int id = -1;
        auto stem = name.substr(0, name.size() - suffix.size());
        auto [p, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), id);
        if (ec != std::errc{} || p != stem.data() + stem.size() || id < 0) continue;
        auto r = read_record(dir, id);
        if (r) out.push_back(std::move(r.value()));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const DeviceRecord& a, const DeviceRecord& b) { return a.dev_id < b.dev_id; });
    return out;
}

}  // namespace iser::ublk
