#include "ublk/queue_affinity.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace iser::ublk {
namespace {

bool is_separator(char c) { return c == ',' || c == ' ' || c == '\n' || c == '\t'; }

}  // namespace

Result<std::vector<int>> parse_cpu_list(std::string_view text) {
    std::vector<int> cpus;
    auto bad = [&text] { return make_error(EINVAL, "unreadable CPU list '" + std::string(text) + "'"); };
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        if (is_separator(*p)) {
            ++p;
            continue;
        }
        int first = 0;
        auto r = std::from_chars(p, end, first);
        if (r.ec != std::errc{} || first < 0) return bad();
        p = r.ptr;
        int last = first;
        if (p < end && *p == '-') {
            r = std::from_chars(p + 1, end, last);
            if (r.ec != std::errc{} || last < first || last - first > 65535) return bad();
            p = r.ptr;
        }
        if (p < end && !is_separator(*p)) return bad();
        for (int c = first; c <= last; ++c) cpus.push_back(c);
    }
    if (cpus.empty()) return bad();
    return cpus;
}

Result<std::vector<int>> queue_cpus(int dev_id, std::uint16_t queue_id, const std::string& sysfs_block) {
    const std::string path =
        sysfs_block + "/ublkb" + std::to_string(dev_id) + "/mq/" + std::to_string(queue_id) + "/cpu_list";
    std::ifstream in(path);
    if (!in) return make_error(ENOENT, "cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    auto cpus = parse_cpu_list(text.str());
    if (!cpus) return make_error(EINVAL, path + ": " + cpus.error().message);
    return cpus;
}

}  // namespace iser::ublk
