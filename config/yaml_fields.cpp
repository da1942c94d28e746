#include "config/yaml_fields.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace iser::config {
namespace {

// Values quoted in messages come from the file and may hold line breaks or other control bytes;
// each problem must stay one line.
std::string one_line(const std::string& message) {
    std::string out;
    for (unsigned char c : message) {
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) out += '?';
        else out += char(c);
    }
    return out;
}

}  // namespace

std::string Problems::render(const std::string& source, std::size_t limit) const {
    auto sorted = items_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    std::size_t n = 0;
    for (const auto& [line, message] : sorted) {
        if (n++ == limit) {
            out += "\n" + source + ": " + std::to_string(sorted.size() - limit) + " more problems not shown";
            break;
        }
        if (!out.empty()) out += '\n';
        out += source + ":" + std::to_string(line) + ": " + one_line(message);
    }
    return out;
}

int line_of(const YAML::Node& node, int fallback) {
    if (!node.IsDefined()) return fallback;
    YAML::Mark mark = node.Mark();
    return mark.line >= 0 ? mark.line + 1 : fallback;
}

std::string closest(std::string_view word, const std::vector<std::string_view>& candidates) {
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diagonal = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                std::size_t above = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
                diagonal = above;
            }
        }
        return row[b.size()];
    };
    if (word.size() > 64) return {};
    std::string best;
    std::size_t best_distance = 3;
    for (std::string_view c : candidates) {
        bool prefix = word.size() >= 3 && (c.substr(0, word.size()) == word || word.substr(0, c.size()) == c);
        std::size_t d = prefix ? 1 : distance(word, c);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(c);
        }
    }
    return best;
}

std::optional<Fields> read_fields(const YAML::Node& node, const std::vector<std::string_view>& allowed,
                                  const std::string& where, int line, Problems& problems) {
    if (!node.IsMap()) {
        problems.add(line_of(node, line), where + " must be a map of keys and values");
        return std::nullopt;
    }
    Fields fields;
    for (auto it = node.begin(); it != node.end(); ++it) {
        // Copies: the iterator hands out a temporary pair; references into it would dangle.
        const YAML::Node key = it->first;
        const YAML::Node value = it->second;
        int key_line = line_of(key, line);
        if (!key.IsScalar()) {
            problems.add(key_line, "a key in " + where + " is not a plain word");
            continue;
        }
        const std::string& name = key.Scalar();
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            std::string hint = closest(name, allowed);
            problems.add(key_line, "unknown key '" + name + "' in " + where +
                                       (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)"));
            continue;
        }
        if (fields.count(name)) {
            problems.add(key_line, "duplicate key '" + name + "' in " + where + " (first at line " +
                                       std::to_string(fields.find(name)->second.line) + ")");
            continue;
        }
        fields.emplace(name, Field{value, key_line});
    }
    return fields;
}

std::optional<std::string> read_string(const Field& field, const std::string& what, Problems& problems) {
    if (field.value.IsNull()) {
        problems.add(field.line, what + " has no value");
        return std::nullopt;
    }
    if (!field.value.IsScalar()) {
        problems.add(line_of(field.value, field.line), what + " must be a single value, not a list or map");
        return std::nullopt;
    }
    return field.value.Scalar();
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<std::uint32_t> read_u32(const Field& field, const std::string& what, std::uint32_t low,
                                      std::uint32_t high, Problems& problems) {
    auto text = read_string(field, what, problems);
    if (!text) return std::nullopt;
    auto n = parse_u32(*text);
    if (!n || *n < low || *n > high) {
        problems.add(line_of(field.value, field.line), what + " must be a number from " + std::to_string(low) +
                                                           " to " + std::to_string(high) + ", not '" + *text + "'");
        return std::nullopt;
    }
    return n;
}

std::optional<bool> read_bool(const Field& field, const std::string& what, Problems& problems) {
    auto text = read_string(field, what, problems);
    if (!text) return std::nullopt;
    std::string lower = *text;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (lower == "true" || lower == "yes" || lower == "on") return true;
    if (lower == "false" || lower == "no" || lower == "off") return false;
    problems.add(line_of(field.value, field.line), what + " must be true or false, not '" + *text + "'");
    return std::nullopt;
}

}  // namespace iser::config
