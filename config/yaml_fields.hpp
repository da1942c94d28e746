// The generic half of the loader: walking yaml-cpp nodes with line numbers, refusing unknown
// and duplicate keys (with a "did you mean" for typos), and reading typed scalars. Messages are
// collected, not thrown, so one run reports every problem of a file.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iser::config {

// Problems found so far, each with its 1-based line.
class Problems {
public:
    void add(int line, std::string message) { items_.emplace_back(line, std::move(message)); }
    bool empty() const { return items_.empty(); }
    // "SOURCE:LINE: message" lines sorted by line (stable), at most `limit`, joined by '\n'.
    std::string render(const std::string& source, std::size_t limit) const;

private:
    std::vector<std::pair<int, std::string>> items_;
};

// 1-based line of a node; `fallback` for nodes with no position (absent or synthesized ones).
int line_of(const YAML::Node& node, int fallback);

struct Field {
    YAML::Node value;
    int line = 0;  // line of the key
};
using Fields = std::map<std::string, Field, std::less<>>;

// The keys of a map node. Reports a non-map (`where` names it: "target 'fast'"), unknown keys
// (suggesting the closest allowed one) and duplicates; returns nullopt only for a non-map.
std::optional<Fields> read_fields(const YAML::Node& node, const std::vector<std::string_view>& allowed,
                                  const std::string& where, int line, Problems& problems);

// The closest of `candidates` to `word` when it is a plausible typo (edit distance <= 2, or
// one is a prefix of the other), else "".
std::string closest(std::string_view word, const std::vector<std::string_view>& candidates);

// Typed scalars; on a wrong type they report "WHAT must be ..." at the value's line.
std::optional<std::string> read_string(const Field& field, const std::string& what, Problems& problems);
std::optional<std::uint32_t> read_u32(const Field& field, const std::string& what, std::uint32_t low,
                                      std::uint32_t high, Problems& problems);
std::optional<bool> read_bool(const Field& field, const std::string& what, Problems& problems);

// Strict decimal.
std::optional<std::uint32_t> parse_u32(std::string_view text);

}  // namespace iser::config
