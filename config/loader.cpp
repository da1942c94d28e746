#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "common/duration.hpp"
#include "config/syntax.hpp"
#include "config/yaml_fields.hpp"

namespace iser::config {

bool Target::selects(std::uint32_t lun) const {
    return all_luns || std::find(luns.begin(), luns.end(), lun) != luns.end();
}

const Target* Config::find_target(const std::string& name) const {
    for (const auto& t : targets)
        if (t.name == name) return &t;
    return nullptr;
}

const Target* Config::find_target_by_iqn(const std::string& iqn) const {
    for (const auto& t : targets)
        if (t.iqn == iqn) return &t;
    return nullptr;
}

namespace {

const std::vector<std::string_view> kTopKeys = {"initiator", "targets", "mounts"};
const std::vector<std::string_view> kInitiatorKeys = {"name"};
const std::vector<std::string_view> kTargetKeys = {"name", "iqn", "portals", "transport", "chap",
                                                   "luns", "timeouts", "device"};
const std::vector<std::string_view> kChapKeys = {"user", "secret-file", "mutual-user", "mutual-secret-file"};
const std::vector<std::string_view> kTimeoutKeys = {"login", "nop-interval", "nop-timeout", "command", "replacement"};
const std::vector<std::string_view> kDeviceKeys = {"frontend", "queues", "depth"};
const std::vector<std::string_view> kMountKeys = {"target", "lun", "mountpoint", "fstype", "options", "mkfs-if-empty"};

// Timer values travel to iserd as 32-bit milliseconds; parse_duration caps at 30 days, which fits.
constexpr std::uint32_t kMaxQueues = 16, kMaxDepth = 1024;

const Field* find(const Fields& fields, std::string_view key) {
    auto it = fields.find(key);
    return it == fields.end() ? nullptr : &it->second;
}

bool valid_fstype(std::string_view s) {
    return !s.empty() && s.size() <= 32 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::string join_luns(const std::vector<std::uint32_t>& luns) {
    std::string out;
    for (auto l : luns) out += (out.empty() ? "" : ", ") + std::to_string(l);
    return out;
}

class Loader {
public:
    Loader(const LoadOptions& options) : options_(options) {}

    Config run(const YAML::Node& root) {
        Config config;
        if (root.IsNull() || !root.IsDefined()) return config;  // an empty file declares nothing
        auto top = read_fields(root, kTopKeys, "the file (top level)", 1, problems_);
        if (!top) return config;
        if (const Field* f = find(*top, "initiator")) read_initiator(*f, config);
        if (const Field* f = find(*top, "targets")) {
            if (!f->value.IsNull() && !f->value.IsSequence()) {
                problems_.add(line_of(f->value, f->line), "'targets' must be a list of targets");
            } else if (f->value.IsSequence()) {
                std::size_t index = 0;
                for (const auto& entry : f->value) read_target(entry, ++index, f->line, config);
            }
        }
        if (const Field* f = find(*top, "mounts")) {
            if (!f->value.IsNull() && !f->value.IsSequence()) {
                problems_.add(line_of(f->value, f->line), "'mounts' must be a list of mounts");
            } else if (f->value.IsSequence()) {
                std::size_t index = 0;
                for (const auto& entry : f->value) read_mount(entry, ++index, f->line, config);
            }
        }
        return config;
    }

    Problems& problems() { return problems_; }

private:
    void read_initiator(const Field& field, Config& config) {
        auto fields = read_fields(field.value, kInitiatorKeys, "'initiator'", field.line, problems_);
        if (!fields) return;
        if (const Field* f = find(*fields, "name")) {
            if (auto name = read_string(*f, "initiator name", problems_)) {
                if (auto ok = check_iscsi_name(*name); !ok)
                    problems_.add(line_of(f->value, f->line), "initiator name: " + ok.error().message);
                else
                    config.initiator_name = *name;
            }
        }
    }

    void read_target(const YAML::Node& node, std::size_t index, int list_line, Config& config) {
        Target t;
        t.line = line_of(node, list_line);
        std::string where = "target #" + std::to_string(index);
        // The name first, so every later message can say which target it is about.
        if (node.IsMap() && node["name"].IsDefined() && node["name"].IsScalar() && valid_label(node["name"].Scalar()))
            where = "target '" + node["name"].Scalar() + "'";
        auto fields = read_fields(node, kTargetKeys, where, t.line, problems_);
        if (!fields) return;
        bool ok = true;
        auto problem = [&](const Field& f, const std::string& message) {
            problems_.add(line_of(f.value, f.line), where + ": " + message);
            ok = false;
        };

        if (const Field* f = find(*fields, "name")) {
            if (auto name = read_string(*f, where + ": name", problems_)) {
                if (!valid_label(*name)) {
                    problem(*f, "name '" + *name + "' must be 1-64 letters, digits, '-', '_' or '.'");
                } else if (const Target* other = config.find_target(*name)) {
                    problem(*f, "name '" + *name + "' is already used by the target at line " + std::to_string(other->line));
                } else {
                    t.name = *name;
                }
            } else {
                ok = false;
            }
        } else {
            problems_.add(t.line, where + " has no 'name'");
            ok = false;
        }

        if (const Field* f = find(*fields, "iqn")) {
            if (auto iqn = read_string(*f, where + ": iqn", problems_)) {
                if (auto valid = check_iscsi_name(*iqn); !valid) {
                    problem(*f, valid.error().message);
                } else if (const Target* other = config.find_target_by_iqn(*iqn)) {
                    problem(*f, "iqn " + *iqn + " is already used by target '" + other->name + "' (line " +
                                    std::to_string(other->line) + ")");
                } else {
                    t.iqn = *iqn;
                }
            } else {
                ok = false;
            }
        } else {
            problems_.add(t.line, where + " has no 'iqn'");
            ok = false;
        }

        if (const Field* f = find(*fields, "portals")) {
            read_portals(*f, t, problem);
        } else {
            problems_.add(t.line, where + " has no 'portals'");
            ok = false;
        }

        if (const Field* f = find(*fields, "transport")) {
            if (auto v = read_string(*f, where + ": transport", problems_)) {
                if (*v != "iser" && *v != "tcp") problem(*f, "transport must be iser or tcp, not '" + *v + "'");
                else t.transport = *v;
            } else {
                ok = false;
            }
        }
        if (const Field* f = find(*fields, "chap")) read_chap(*f, where, t.chap, problem);
        if (const Field* f = find(*fields, "luns")) read_luns(*f, t, problem);
        if (const Field* f = find(*fields, "timeouts")) read_timeouts(*f, where, t.timeouts, problem);
        if (const Field* f = find(*fields, "device")) read_device(*f, where, t.device, problem);
        if (ok) config.targets.push_back(std::move(t));
        // A broken target is left out: mounts naming it then report nothing extra (see read_mount).
        else if (!t.name.empty()) broken_targets_.insert(t.name);
    }

    template <class Problem>
    void read_portals(const Field& f, Target& t, Problem& problem) {
        std::vector<YAML::Node> items;
        if (f.value.IsScalar()) items.push_back(f.value);  // "portals: 192.0.2.10" is one portal
        else if (f.value.IsSequence()) for (const auto& n : f.value) items.push_back(n);
        if (items.empty()) return problem(f, "portals must be a list of HOST[:PORT], e.g. [192.0.2.10, \"[2001:db8::1]:3260\"]");
        for (const auto& item : items) {
            Field one{item, line_of(item, f.line)};
            if (!item.IsScalar()) {
                problem(one, "each portal must be a HOST[:PORT] string");
                continue;
            }
            auto portal = normalize_portal(item.Scalar());
            if (!portal) {
                problem(one, portal.error().message);
            } else if (std::find(t.portals.begin(), t.portals.end(), *portal) != t.portals.end()) {
                problem(one, "portal " + *portal + " is listed twice");
            } else {
                t.portals.push_back(*portal);
            }
        }
    }

    std::string absolute_path(const std::string& path) const {
        std::filesystem::path p(path);
        if (p.is_relative()) p = std::filesystem::path(options_.base_directory) / p;
        return p.lexically_normal().string();
    }

    template <class Problem>
    void read_chap(const Field& f, const std::string& where, Chap& chap, Problem& problem) {
        auto fields = read_fields(f.value, kChapKeys, "chap of " + where, f.line, problems_);
        if (!fields) return;
        auto text = [&](const char* key, std::string& out) -> const Field* {
            const Field* field = find(*fields, key);
            if (!field) return nullptr;
            auto v = read_string(*field, where + ": chap " + key, problems_);
            if (v && v->empty()) problem(*field, std::string("chap ") + key + " is empty");
            else if (v) out = *v;
            return field;
        };
        const Field* user = text("user", chap.user);
        const Field* secret = text("secret-file", chap.secret_file);
        const Field* mutual_user = text("mutual-user", chap.mutual_user);
        const Field* mutual_secret = text("mutual-secret-file", chap.mutual_secret_file);
        if (bool(user) != bool(secret)) return problem(f, "chap needs both 'user' and 'secret-file'");
        if (bool(mutual_user) != bool(mutual_secret))
            return problem(f, "chap needs both 'mutual-user' and 'mutual-secret-file'");
        if (mutual_user && !user) return problem(f, "mutual CHAP needs 'user' and 'secret-file' too");
        auto check = [&](const Field* field, const char* key, std::string& path) {
            if (!field || path.empty()) return;
            path = absolute_path(path);
            if (!options_.check_secret_file) return;
            if (auto wrong = options_.check_secret_file(path)) problem(*field, std::string("chap ") + key + " " + *wrong);
        };
        check(secret, "secret-file", chap.secret_file);
        check(mutual_secret, "mutual-secret-file", chap.mutual_secret_file);
    }

    template <class Problem>
    void read_luns(const Field& f, Target& t, Problem& problem) {
        if (f.value.IsScalar() && f.value.Scalar() == "all") {
            t.all_luns = true;
            return;
        }
        if (!f.value.IsSequence() || f.value.size() == 0)
            return problem(f, "luns must be 'all' or a list of LUN numbers, e.g. [0, 2]");
        t.all_luns = false;
        for (const auto& item : f.value) {
            Field one{item, line_of(item, f.line)};
            auto lun = read_u32(one, "LUN", 0, 16383, problems_);  // SAM flat addressing
            if (!lun) continue;
            if (std::find(t.luns.begin(), t.luns.end(), *lun) != t.luns.end())
                problem(one, "LUN " + std::to_string(*lun) + " is listed twice");
            else
                t.luns.push_back(*lun);
        }
    }

    template <class Problem>
    void read_timeouts(const Field& f, const std::string& where, Timeouts& out, Problem& problem) {
        auto fields = read_fields(f.value, kTimeoutKeys, "timeouts of " + where, f.line, problems_);
        if (!fields) return;
        auto duration = [&](const char* key, std::optional<std::chrono::milliseconds>& value) {
            const Field* field = find(*fields, key);
            if (!field) return;
            auto text = read_string(*field, where + ": timeouts " + key, problems_);
            if (!text) return;
            auto d = parse_duration(*text);
            if (!d) problem(*field, std::string("timeouts ") + key + ": " + d.error().message);
            else value = *d;
        };
        duration("login", out.login);
        duration("nop-interval", out.nop_interval);
        duration("nop-timeout", out.nop_timeout);
        duration("command", out.command);
        duration("replacement", out.replacement);
        using std::chrono::milliseconds;
        if (out.login && *out.login == milliseconds(0)) problem(*find(*fields, "login"), "timeouts login must not be 0");
        if (out.nop_timeout && *out.nop_timeout == milliseconds(0) &&
            !(out.nop_interval && *out.nop_interval == milliseconds(0)))
            problem(*find(*fields, "nop-timeout"), "timeouts nop-timeout 0 needs nop-interval 0 (no keepalive)");
    }

    template <class Problem>
    void read_device(const Field& f, const std::string& where, Device& device, Problem& problem) {
        auto fields = read_fields(f.value, kDeviceKeys, "device of " + where, f.line, problems_);
        if (!fields) return;
        if (const Field* field = find(*fields, "frontend")) {
            if (auto v = read_string(*field, where + ": device frontend", problems_)) {
                if (*v == "nbd-server")
                    problem(*field, "frontend nbd-server gives a socket, not a block device to mount; use ublk or nbd");
                else if (*v != "ublk" && *v != "nbd")
                    problem(*field, "device frontend must be ublk or nbd, not '" + *v + "'");
                else
                    device.frontend = *v;
            }
        }
        if (const Field* field = find(*fields, "queues"))
            device.queues = read_u32(*field, where + ": device queues", 1, kMaxQueues, problems_);
        if (const Field* field = find(*fields, "depth"))
            device.depth = read_u32(*field, where + ": device depth", 1, kMaxDepth, problems_);
        if ((device.queues || device.depth) && device.frontend != "ublk")
            problem(f, "device queues and depth apply to frontend ublk only");
    }

    void read_mount(const YAML::Node& node, std::size_t index, int list_line, Config& config) {
        Mount m;
        m.line = line_of(node, list_line);
        std::string where = "mount #" + std::to_string(index);
        if (node.IsMap() && node["mountpoint"].IsDefined() && node["mountpoint"].IsScalar())
            where = "mount on " + node["mountpoint"].Scalar();
        auto fields = read_fields(node, kMountKeys, where, m.line, problems_);
        if (!fields) return;
        bool ok = true;
        auto problem = [&](const Field& f, const std::string& message) {
            problems_.add(line_of(f.value, f.line), where + ": " + message);
            ok = false;
        };
        auto missing = [&](const char* key) {
            problems_.add(m.line, where + " has no '" + key + "'");
            ok = false;
        };

        const Target* target = nullptr;
        const Field* target_field = find(*fields, "target");
        if (!target_field) {
            missing("target");
        } else if (auto name = read_string(*target_field, where + ": target", problems_)) {
            m.target = *name;
            target = config.find_target(*name);
            if (!target && !broken_targets_.count(*name)) {
                std::vector<std::string_view> names;
                for (const auto& t : config.targets) names.push_back(t.name);
                std::string hint = closest(*name, names);
                problem(*target_field, "unknown target '" + *name + "'" +
                                           (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)"));
            }
            ok = ok && target;
        } else {
            ok = false;
        }

        if (const Field* f = find(*fields, "lun")) {
            if (auto lun = read_u32(*f, where + ": lun", 0, 16383, problems_)) {
                m.lun = *lun;
                if (target && !target->selects(*lun))
                    problem(*f, "LUN " + std::to_string(*lun) + " is not among the LUNs of target '" + target->name +
                                    "' (" + join_luns(target->luns) + ")");
            } else {
                ok = false;
            }
        }

        if (const Field* f = find(*fields, "mountpoint")) {
            if (auto path = read_string(*f, where + ": mountpoint", problems_)) {
                std::filesystem::path p = std::filesystem::path(*path).lexically_normal();
                std::string normal = p.string();
                if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
                if (path->empty() || path->front() != '/') {
                    problem(*f, "mountpoint must be an absolute path, not '" + *path + "'");
                } else if (normal == "/") {
                    problem(*f, "mountpoint must not be /");
                } else if (auto other = std::find_if(config.mounts.begin(), config.mounts.end(),
                                                     [&](const Mount& o) { return o.mountpoint == normal; });
                           other != config.mounts.end()) {
                    problem(*f, "mountpoint " + normal + " is already used by the mount at line " + std::to_string(other->line));
                } else {
                    m.mountpoint = normal;
                }
            } else {
                ok = false;
            }
        } else {
            missing("mountpoint");
        }

        if (const Field* f = find(*fields, "fstype")) {
            if (auto type = read_string(*f, where + ": fstype", problems_)) {
                if (!valid_fstype(*type)) problem(*f, "fstype '" + *type + "' is not a file system type name (e.g. ext4, xfs)");
                else m.fstype = *type;
            } else {
                ok = false;
            }
        } else {
            missing("fstype");
        }

        if (const Field* f = find(*fields, "options")) read_options(*f, m, problem);
        if (const Field* f = find(*fields, "mkfs-if-empty")) {
            auto v = read_bool(*f, where + ": mkfs-if-empty", problems_);
            if (v) m.mkfs_if_empty = *v;
            else ok = false;
        }

        if (ok && target) {
            for (const auto& other : config.mounts) {
                if (other.target == m.target && other.lun == m.lun) {
                    problems_.add(m.line, where + ": LUN " + std::to_string(m.lun) + " of target '" + m.target +
                                              "' is already mounted on " + other.mountpoint + " (line " +
                                              std::to_string(other.line) + ")");
                    ok = false;
                }
            }
        }
        if (ok) config.mounts.push_back(std::move(m));
    }

    template <class Problem>
    void read_options(const Field& f, Mount& m, Problem& problem) {
        std::vector<YAML::Node> items;
        if (f.value.IsScalar()) items.push_back(f.value);
        else if (f.value.IsSequence()) for (const auto& n : f.value) items.push_back(n);
        else if (!f.value.IsNull()) return problem(f, "options must be a list or a comma-separated string");
        for (const auto& item : items) {
            Field one{item, line_of(item, f.line)};
            if (!item.IsScalar()) {
                problem(one, "each mount option must be a string");
                continue;
            }
            std::string_view rest = item.Scalar();
            while (true) {
                std::string_view option = rest.substr(0, rest.find(','));
                if (option.empty()) {
                    problem(one, "empty mount option in '" + item.Scalar() + "'");
                    break;
                }
                if (std::any_of(option.begin(), option.end(), [](unsigned char c) { return std::isspace(c) || c < 0x20; })) {
                    problem(one, "mount option '" + std::string(option) + "' contains a space");
                    break;
                }
                m.options.emplace_back(option);
                if (option.size() == rest.size()) break;
                rest.remove_prefix(option.size() + 1);
            }
        }
    }

    const LoadOptions& options_;
    Problems problems_;
    std::set<std::string> broken_targets_;
};

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& source, const LoadOptions& options) {
    Loader loader(options);
    Config config;
    try {
        YAML::Node root = YAML::Load(std::string(text));
        config = loader.run(root);
    } catch (const YAML::Exception& e) {
        // Syntax errors (ParserException) carry the position; anything else is still the file's fault.
        int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
        loader.problems().add(line, "YAML syntax error: " + e.msg);
    } catch (const std::exception& e) {
        loader.problems().add(1, std::string("cannot read the file: ") + e.what());
    }
    if (!loader.problems().empty()) return make_error(EINVAL, loader.problems().render(source, kMaxReportedErrors));
    config.source = source;
    return config;
}

}  // namespace iser::config
