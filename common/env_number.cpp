#include "common/env_number.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>

namespace iser {

Result<std::uint64_t> env_number(const char* name, std::uint64_t fallback, std::uint64_t max) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    errno = 0;
    // strtoull accepts leading blanks and a sign ("-1" wraps to a huge value): digits only.
    bool digits_only = true;
    for (const char* p = v; *p; ++p) digits_only = digits_only && *p >= '0' && *p <= '9';
    unsigned long long n = digits_only ? std::strtoull(v, &end, 10) : 0;
    if (!digits_only || errno != 0 || n > max)
        return make_error(EINVAL, std::string(name) + "=" + v + " is not a number from 0 to " +
                                      std::to_string(max));
    return std::uint64_t(n);
}

}  // namespace iser
