#include "control/wire.hpp"

// GCC 12 at -O2 reports the bool members of LogoutRequest and RescanRequest "maybe
// uninitialized" when a Request is moved into a Result (inlined std::variant moves): a false
// positive (both have default member initializers), not worth bending the code around.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <limits>
#include <nlohmann/json.hpp>

#include "common/iscsi_name.hpp"
#include "common/portal.hpp"

// GCC 12 reports LogoutRequest::all "maybe uninitialized" when a Result<Request> holding another
// alternative is moved (a known false positive of its variant analysis; clang and the sanitizers
// see nothing). Silenced for this file only, so the build stays warning-free.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace iser::control {
namespace {

// ordered_json keeps "op"/"ok" first and the negotiated keys in the order iserd gave them.
using Json = nlohmann::ordered_json;

const char* const kOpNames[] = {"discover", "login", "logout", "list", "shutdown", "stats", "rescan"};
static_assert(std::size(kOpNames) == std::variant_size_v<Request>);

Error invalid(std::string message) { return make_error(EINVAL, std::move(message)); }

// ---- reading one JSON object field by field -------------------------------------------------

// Reads typed members of one object; finish() refuses members nobody asked for (strict mode),
// so a misspelt field in a request is an error rather than silently defaulted.
class ObjectReader {
public:
    ObjectReader(const Json& object, std::string what) : object_(object), what_(std::move(what)) {}

    Status string(const char* key, std::string& out, bool required = false) {
        const Json* v = find(key);
        if (!v) return required ? missing(key) : Status{};
        if (!v->is_string()) return wrong_type(key, "a string");
        const auto& s = v->get_ref<const std::string&>();
        if (s.find('\0') != std::string::npos) return invalid(what_ + ": '" + key + "' contains a NUL character");
        out = s;
        return {};
    }

    template <class T>
    Status number(const char* key, T& out, bool required = false) {
        const Json* v = find(key);
        if (!v) return required ? missing(key) : Status{};
        if (!v->is_number_unsigned() || v->get<std::uint64_t>() > std::numeric_limits<T>::max())
            return wrong_type(key, "an integer from 0 to " + std::to_string(std::numeric_limits<T>::max()));
        out = T(v->get<std::uint64_t>());
        return {};
    }

    template <class T>
    Status optional_number(const char* key, std::optional<T>& out) {
        if (!object_.contains(key)) return {};
        T value{};
        ISER_TRY(number(key, value));
        out = value;
        return {};
    }

    Status boolean(const char* key, bool& out) {
        const Json* v = find(key);
        if (!v) return {};
        if (!v->is_boolean()) return wrong_type(key, "true or false");
        out = v->get<bool>();
        return {};
    }

    // The member as an array (nullptr when absent).
    Result<const Json*> array(const char* key) {
        const Json* v = find(key);
        if (v && !v->is_array()) return wrong_type(key, "an array");
        return v;
    }

    Result<const Json*> object(const char* key) {
        const Json* v = find(key);
        if (v && !v->is_object()) return wrong_type(key, "an object");
        return v;
    }

    Status finish(bool strict) const {
        if (!strict) return {};
        for (const auto& item : object_.items())
            if (std::find(seen_.begin(), seen_.end(), item.key()) == seen_.end())
                return invalid(what_ + ": unknown field '" + item.key() + "'");
        return {};
    }

private:
    const Json* find(const char* key) {
        seen_.emplace_back(key);
        auto it = object_.find(key);
        return it == object_.end() ? nullptr : &*it;
    }
    Error missing(const char* key) const { return invalid(what_ + ": missing field '" + std::string(key) + "'"); }
    Error wrong_type(const char* key, const std::string& expected) const {
        return invalid(what_ + ": field '" + std::string(key) + "' must be " + expected);
    }

    const Json& object_;
    std::string what_;
    std::vector<std::string> seen_;
};

Result<Json> parse_line(std::string_view line, std::size_t limit, const char* what) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.size() > limit)
        return make_error(EMSGSIZE, std::string(what) + " longer than " + std::to_string(limit) + " bytes");
    if (line.find('\n') != std::string_view::npos) return invalid(std::string(what) + " spans more than one line");
    Json j;
    try {
        j = Json::parse(line);
    } catch (const Json::exception& e) {
        // e.what() is "[json.exception.parse_error.101] parse error at ...": keep the part after "] ".
        std::string detail = e.what();
        if (auto pos = detail.find("] "); pos != std::string::npos) detail.erase(0, pos + 2);
        return invalid(std::string("malformed ") + what + ": " + detail);
    }
    if (!j.is_object()) return invalid(std::string(what) + " is not a JSON object");
    return j;
}

Status check_one_of(const std::string& value, const char* field, std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
        if (value == a) return {};
        list += list.empty() ? a : std::string(", ") + a;
    }
    return invalid(std::string(field) + " '" + value + "' is not one of " + list);
}

Status check_portal(const std::string& portal) {
    auto parsed = parse_portal(portal);
    if (!parsed) return parsed.take_error();
    return {};
}

// ---- requests -------------------------------------------------------------------------------

Json to_json(const DiscoverRequest& r) { return {{"portal", r.portal}, {"transport", r.transport}}; }

Json to_json(const LoginRequest& r) {
    Json j = {{"portal", r.portal}, {"target", r.target}, {"transport", r.transport}};
    if (r.lun) j["lun"] = *r.lun;
    j["frontend"] = r.frontend;
    if (!r.nbd_socket.empty()) j["nbd_socket"] = r.nbd_socket;
    if (r.nbd_group) j["nbd_group"] = *r.nbd_group;
    if (!r.chap_user.empty()) j["chap_user"] = r.chap_user;
    if (!r.chap_secret_file.empty()) j["chap_secret_file"] = r.chap_secret_file;
    if (!r.mutual_user.empty()) j["mutual_user"] = r.mutual_user;
    if (!r.mutual_secret_file.empty()) j["mutual_secret_file"] = r.mutual_secret_file;
    if (!r.alternate_portals.empty()) j["alternate_portals"] = r.alternate_portals;
    auto put = [&j](const char* key, const std::optional<std::uint32_t>& v) {
        if (v) j[key] = *v;
    };
    put("queues", r.queues);
    put("depth", r.depth);
    put("login_timeout_ms", r.login_timeout_ms);
    put("nop_interval_ms", r.nop_interval_ms);
    put("nop_timeout_ms", r.nop_timeout_ms);
    put("command_timeout_ms", r.command_timeout_ms);
    put("replacement_timeout_ms", r.replacement_timeout_ms);
    return j;
}

Json to_json(const LogoutRequest& r) {
    Json j = Json::object();
    if (!r.target.empty()) j["target"] = r.target;
    if (!r.device.empty()) j["device"] = r.device;
    if (r.all) j["all"] = true;
    return j;
}

Json to_json(const RescanRequest& r) {
    Json j = Json::object();
    if (!r.target.empty()) j["target"] = r.target;
    if (!r.device.empty()) j["device"] = r.device;
    if (r.all) j["all"] = true;
    return j;
}

Json to_json(const ListRequest&) { return Json::object(); }
Json to_json(const ShutdownRequest& r) {
    Json j = Json::object();
    if (r.keep_devices) j["keep_devices"] = true;
    return j;
}
Json to_json(const StatsRequest&) { return Json::object(); }

Result<Request> read_discover(ObjectReader& in) {
    DiscoverRequest r;
    ISER_TRY(in.string("portal", r.portal, true));
    ISER_TRY(in.string("transport", r.transport));
    ISER_TRY(in.finish(true));
    ISER_TRY(check_portal(r.portal));
    ISER_TRY(check_one_of(r.transport, "transport", {"iser", "tcp"}));
    return Request{std::move(r)};
}

Result<Request> read_login(ObjectReader& in) {
    LoginRequest r;
    ISER_TRY(in.string("portal", r.portal, true));
    ISER_TRY(in.string("target", r.target, true));
    ISER_TRY(in.string("transport", r.transport));
    ISER_TRY(in.optional_number("lun", r.lun));
    ISER_TRY(in.string("frontend", r.frontend));
    ISER_TRY(in.string("nbd_socket", r.nbd_socket));
    ISER_TRY(in.optional_number("nbd_group", r.nbd_group));
    ISER_TRY(in.string("chap_user", r.chap_user));
    ISER_TRY(in.string("chap_secret_file", r.chap_secret_file));
    ISER_TRY(in.string("mutual_user", r.mutual_user));
    ISER_TRY(in.string("mutual_secret_file", r.mutual_secret_file));
    auto alternates = in.array("alternate_portals");
    if (!alternates) return alternates.take_error();
    if (*alternates) {
        for (const auto& p : **alternates) {
            if (!p.is_string()) return invalid("login: 'alternate_portals' must hold strings");
            ISER_TRY(check_portal(p.get<std::string>()));
            r.alternate_portals.push_back(p.get<std::string>());
        }
    }
    ISER_TRY(in.optional_number("queues", r.queues));
    ISER_TRY(in.optional_number("depth", r.depth));
    ISER_TRY(in.optional_number("login_timeout_ms", r.login_timeout_ms));
    ISER_TRY(in.optional_number("nop_interval_ms", r.nop_interval_ms));
    ISER_TRY(in.optional_number("nop_timeout_ms", r.nop_timeout_ms));
    ISER_TRY(in.optional_number("command_timeout_ms", r.command_timeout_ms));
    ISER_TRY(in.optional_number("replacement_timeout_ms", r.replacement_timeout_ms));
    ISER_TRY(in.finish(true));
    ISER_TRY(check_portal(r.portal));
    if (r.queues && (*r.queues < 1 || *r.queues > 16)) return invalid("login: 'queues' must be 1 to 16");
    if (r.depth && (*r.depth < 1 || *r.depth > 1024)) return invalid("login: 'depth' must be 1 to 1024");
    if (r.login_timeout_ms && *r.login_timeout_ms == 0) return invalid("login: 'login_timeout_ms' must not be 0");
    if (r.nop_interval_ms && *r.nop_interval_ms && r.nop_timeout_ms && *r.nop_timeout_ms == 0)
        return invalid("login: a keepalive needs a non-zero 'nop_timeout_ms'");
    ISER_TRY(validate_iscsi_name(r.target));
    ISER_TRY(check_one_of(r.transport, "transport", {"iser", "tcp"}));
    ISER_TRY(check_one_of(r.frontend, "frontend", {"ublk", "nbd", "nbd-server"}));
    if (r.frontend != "nbd-server" && (!r.nbd_socket.empty() || r.nbd_group))
        return invalid("nbd_socket and nbd_group need frontend nbd-server");
    if (r.chap_user.empty() != r.chap_secret_file.empty())
        return invalid("chap_user and chap_secret_file go together");
    if (r.mutual_user.empty() != r.mutual_secret_file.empty())
        return invalid("mutual_user and mutual_secret_file go together");
    if (!r.mutual_user.empty() && r.chap_user.empty()) return invalid("mutual CHAP needs chap_user as well");
    return Request{std::move(r)};
}

// Logout and rescan select what they act on the same way: exactly one of target, device, all.
template <class R>
Result<Request> read_selection(ObjectReader& in, const char* verb) {
    R r;
    ISER_TRY(in.string("target", r.target));
    ISER_TRY(in.string("device", r.device));
    ISER_TRY(in.boolean("all", r.all));
    ISER_TRY(in.finish(true));
    if (int(!r.target.empty()) + int(!r.device.empty()) + int(r.all) != 1)
        return invalid(std::string(verb) + " needs exactly one of target, device, all");
    if (!r.target.empty()) ISER_TRY(validate_iscsi_name(r.target));
    return Request{std::move(r)};
}

Result<Request> read_logout(ObjectReader& in) { return read_selection<LogoutRequest>(in, "logout"); }
Result<Request> read_rescan(ObjectReader& in) { return read_selection<RescanRequest>(in, "rescan"); }

// ---- replies --------------------------------------------------------------------------------

Json to_json(const AttachedLun& l) {
    return {{"lun", l.lun}, {"path", l.path}, {"size_bytes", l.size_bytes}, {"block_size", l.block_size}};
}

Json to_json(const DiscoverReply& r) {
    Json portals = Json::array();
    for (const auto& p : r.portals)
        portals.push_back({{"address", p.address}, {"port", p.port}, {"tpgt", p.tpgt}, {"target", p.target}});
    return {{"portals", std::move(portals)}};
}

Json to_json(const LoginReply& r) {
    Json attached = Json::array(), skipped = Json::array();
    for (const auto& l : r.attached) attached.push_back(to_json(l));
    for (const auto& s : r.skipped) skipped.push_back({{"lun", s.lun}, {"reason", s.reason}});
    return {{"attached", std::move(attached)}, {"skipped", std::move(skipped)}};
}

Json to_json(const LogoutReply& r) { return {{"detached", r.detached}}; }

Json to_json(const ListReply& r) {
    Json sessions = Json::array();
    for (const auto& s : r.sessions) {
        Json negotiated = Json::object();
        for (const auto& [key, value] : s.negotiated) negotiated[key] = value;
        Json luns = Json::array();
        for (const auto& l : s.luns) luns.push_back(to_json(l));
        Json session = {{"target", s.target},
                        {"portal", s.portal},
                        {"transport", s.transport},
                        {"state", s.state},
                        {"frontend", s.frontend},
                        {"tsih", s.tsih},
                        {"isid", s.isid},
                        {"luns", std::move(luns)},
                        {"negotiated", std::move(negotiated)}};
        if (!s.detail.empty()) session["detail"] = s.detail;
        if (s.login) session["login"] = to_json(*s.login);
        sessions.push_back(std::move(session));
    }
    return {{"sessions", std::move(sessions)}};
}

Json to_json(const ShutdownReply&) { return Json::object(); }

Json to_json(const RescanReply& r) {
    Json devices = Json::array();
    for (const auto& d : r.devices) {
        Json j = {{"target", d.target},     {"lun", d.lun},       {"path", d.path},
                  {"old_bytes", d.old_bytes}, {"device_bytes", d.device_bytes}, {"lun_bytes", d.lun_bytes},
                  {"result", d.result}};
        if (!d.error.empty()) j["error"] = d.error;
        devices.push_back(std::move(j));
    }
    return {{"devices", std::move(devices)}};
}

Json to_json(const StatsReply& r) {
    Json devices = Json::array();
    for (const auto& d : r.devices) {
        // The histogram travels sparse: [bucket, count] pairs for the non-empty buckets.
        Json latency = Json::array();
        const auto& counts = d.io.latency.counts();
        for (std::size_t b = 0; b < counts.size(); ++b)
            if (counts[b]) latency.push_back({b, counts[b]});
        devices.push_back({{"target", d.target},
                           {"lun", d.lun},
                           {"path", d.path},
                           {"state", d.state},
                           {"sessions", d.sessions},
                           {"uptime_ms", d.uptime_ms},
                           {"reads", d.io.reads},
                           {"writes", d.io.writes},
                           {"flushes", d.io.flushes},
                           {"discards", d.io.discards},
                           {"write_zeroes", d.io.write_zeroes},
                           {"read_bytes", d.io.read_bytes},
                           {"write_bytes", d.io.write_bytes},
                           {"errors", d.io.errors},
                           {"latency_us_histogram", std::move(latency)},
                           {"reconnects", d.reconnects},
                           {"command_timeouts", d.command_timeouts},
                           {"aborts", d.aborts},
                           {"lun_resets", d.lun_resets},
                           {"retries", d.retries},
                           // Added later; older readers ignore them (reply items are not strict).
                           {"portal", d.portal},
                           {"transport", d.transport},
                           {"latency_us_sum", d.io.latency.sum_micros()}});
        if (d.io_memory) {
            auto& j = devices.back();
            j["io_memory_in_use_bytes"] = d.io_memory->in_use_bytes;
            j["io_memory_committed_bytes"] = d.io_memory->committed_bytes;
            j["io_memory_limit_bytes"] = d.io_memory->limit_bytes;
        }
    }
    return {{"devices", std::move(devices)}};
}

// Calls fn(element_reader) for each object in array member `key`.
template <class Fn>
Status each_object(ObjectReader& in, const char* key, const std::string& what, Fn fn) {
    auto array = in.array(key);
    if (!array) return array.take_error();
    if (!*array) return {};
    for (const auto& element : **array) {
        if (!element.is_object()) return invalid(what + ": '" + key + "' must hold objects");
        ObjectReader item(element, what + " " + key);
        ISER_TRY(fn(item));
        ISER_TRY(item.finish(false));
    }
    return {};
}

Status read_attached(ObjectReader& in, std::vector<AttachedLun>& out) {
    AttachedLun l;
    ISER_TRY(in.number("lun", l.lun, true));
    ISER_TRY(in.string("path", l.path, true));
    ISER_TRY(in.number("size_bytes", l.size_bytes));
    ISER_TRY(in.number("block_size", l.block_size));
    out.push_back(std::move(l));
    return {};
}

Result<Reply> read_reply(ObjectReader& in, const DiscoverRequest&) {
    DiscoverReply r;
    ISER_TRY(each_object(in, "portals", "discover reply", [&](ObjectReader& p) -> Status {
        DiscoveredPortal d;
        ISER_TRY(p.string("address", d.address, true));
        ISER_TRY(p.number("port", d.port));
        ISER_TRY(p.number("tpgt", d.tpgt));
        ISER_TRY(p.string("target", d.target, true));
        r.portals.push_back(std::move(d));
        return {};
    }));
    return Reply{std::move(r)};
}

Result<Reply> read_reply(ObjectReader& in, const LoginRequest&) {
    LoginReply r;
    ISER_TRY(each_object(in, "attached", "login reply", [&](ObjectReader& l) { return read_attached(l, r.attached); }));
    ISER_TRY(each_object(in, "skipped", "login reply", [&](ObjectReader& s) -> Status {
        SkippedLun k;
        ISER_TRY(s.number("lun", k.lun, true));
        ISER_TRY(s.string("reason", k.reason));
        r.skipped.push_back(std::move(k));
        return {};
    }));
    return Reply{std::move(r)};
}

Result<Reply> read_reply(ObjectReader& in, const LogoutRequest&) {
    LogoutReply r;
    auto detached = in.array("detached");
    if (!detached) return detached.take_error();
    if (*detached) {
        for (const auto& d : **detached) {
            if (!d.is_string()) return invalid("logout reply: 'detached' must hold strings");
            r.detached.push_back(d.get<std::string>());
        }
    }
    return Reply{std::move(r)};
}

Result<Reply> read_reply(ObjectReader& in, const ListRequest&) {
    ListReply r;
    ISER_TRY(each_object(in, "sessions", "list reply", [&](ObjectReader& s) -> Status {
        SessionInfo info;
        ISER_TRY(s.string("target", info.target, true));
        ISER_TRY(s.string("portal", info.portal));
        ISER_TRY(s.string("transport", info.transport));
        ISER_TRY(s.string("state", info.state));
        ISER_TRY(s.string("frontend", info.frontend));
        ISER_TRY(s.number("tsih", info.tsih));
        ISER_TRY(s.string("isid", info.isid));
        ISER_TRY(each_object(s, "luns", "list reply session", [&](ObjectReader& l) { return read_attached(l, info.luns); }));
        auto negotiated = s.object("negotiated");
        if (!negotiated) return negotiated.take_error();
        if (*negotiated) {
            for (const auto& item : (*negotiated)->items()) {
                if (!item.value().is_string()) return invalid("list reply: negotiated values must be strings");
                info.negotiated.emplace_back(item.key(), item.value().get<std::string>());
            }
        }
        ISER_TRY(s.string("detail", info.detail));
        auto login = s.object("login");
        if (!login) return login.take_error();
        if (*login) {
            ObjectReader settings(**login, "list reply login");
            auto request = read_login(settings);
            if (!request) return request.take_error();
            info.login = std::get<LoginRequest>(std::move(*request));
        }
        r.sessions.push_back(std::move(info));
        return {};
    }));
    return Reply{std::move(r)};
}

Result<Reply> read_reply(ObjectReader&, const ShutdownRequest&) { return Reply{ShutdownReply{}}; }

Result<Reply> read_reply(ObjectReader& in, const StatsRequest&) {
    StatsReply r;
    ISER_TRY(each_object(in, "devices", "stats reply", [&](ObjectReader& s) -> Status {
        DeviceStats d;
        ISER_TRY(s.string("target", d.target, true));
        ISER_TRY(s.number("lun", d.lun));
        ISER_TRY(s.string("path", d.path));
        ISER_TRY(s.string("state", d.state));
        ISER_TRY(s.number("sessions", d.sessions));
        ISER_TRY(s.number("uptime_ms", d.uptime_ms));
        ISER_TRY(s.number("reads", d.io.reads));
        ISER_TRY(s.number("writes", d.io.writes));
        ISER_TRY(s.number("flushes", d.io.flushes));
        ISER_TRY(s.number("discards", d.io.discards));
        ISER_TRY(s.number("write_zeroes", d.io.write_zeroes));
        ISER_TRY(s.number("read_bytes", d.io.read_bytes));
        ISER_TRY(s.number("write_bytes", d.io.write_bytes));
        ISER_TRY(s.number("errors", d.io.errors));
        ISER_TRY(s.number("reconnects", d.reconnects));
        ISER_TRY(s.number("command_timeouts", d.command_timeouts));
        ISER_TRY(s.number("aborts", d.aborts));
        ISER_TRY(s.number("lun_resets", d.lun_resets));
        ISER_TRY(s.number("retries", d.retries));
        ISER_TRY(s.string("portal", d.portal));
        ISER_TRY(s.string("transport", d.transport));
        std::optional<std::uint64_t> latency_sum;
        ISER_TRY(s.optional_number("latency_us_sum", latency_sum));
        d.latency_sum_known = latency_sum.has_value();
        d.io.latency.set_sum_micros(latency_sum.value_or(0));
        std::optional<std::uint64_t> limit;
        ISER_TRY(s.optional_number("io_memory_limit_bytes", limit));
        if (limit) {
            IoMemoryUse memory;
            memory.limit_bytes = *limit;
            ISER_TRY(s.number("io_memory_in_use_bytes", memory.in_use_bytes));
            ISER_TRY(s.number("io_memory_committed_bytes", memory.committed_bytes));
            d.io_memory = memory;
        }
        auto latency = s.array("latency_us_histogram");
        if (!latency) return latency.take_error();
        if (*latency) {
            auto& counts = d.io.latency.counts();
            for (const auto& pair : **latency) {
                if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_unsigned() ||
                    !pair[1].is_number_unsigned() || pair[0].get<std::uint64_t>() >= counts.size())
                    return invalid("stats reply: 'latency_us_histogram' must hold [bucket, count] pairs");
                counts[pair[0].get<std::size_t>()] = pair[1].get<std::uint64_t>();
            }
        }
        r.devices.push_back(std::move(d));
        return {};
    }));
    return Reply{std::move(r)};
}

Result<Reply> read_reply(ObjectReader& in, const RescanRequest&) {
    RescanReply r;
    ISER_TRY(each_object(in, "devices", "rescan reply", [&](ObjectReader& s) -> Status {
        RescannedDevice d;
        ISER_TRY(s.string("target", d.target, true));
        ISER_TRY(s.number("lun", d.lun));
        ISER_TRY(s.string("path", d.path, true));
        ISER_TRY(s.number("old_bytes", d.old_bytes));
        ISER_TRY(s.number("device_bytes", d.device_bytes));
        ISER_TRY(s.number("lun_bytes", d.lun_bytes));
        ISER_TRY(s.string("result", d.result, true));
        ISER_TRY(s.string("error", d.error));
        r.devices.push_back(std::move(d));
        return {};
    }));
    return Reply{std::move(r)};
}

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

}  // namespace

const char* op_name(const Request& request) { return kOpNames[request.index()]; }

std::string encode_request(const Request& request) {
    Json j = {{"op", op_name(request)}};
    std::visit([&](const auto& r) { j.update(to_json(r)); }, request);
    // error_handler::replace: a string that is not valid UTF-8 must not throw on this path.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<Request> decode_request(std::string_view line) {
    auto parsed = parse_line(line, kMaxRequestBytes, "request");
    if (!parsed) return parsed.take_error();
    const Json& j = *parsed;
    auto op = j.find("op");
    if (op == j.end() || !op->is_string()) return invalid("request has no \"op\" string");
    const auto& name = op->get_ref<const std::string&>();
    ObjectReader in(j, name + " request");
    std::string ignored;
    ISER_TRY(in.string("op", ignored));
    if (name == "discover") return read_discover(in);
    if (name == "login") return read_login(in);
    if (name == "logout") return read_logout(in);
    if (name == "rescan") return read_rescan(in);
    if (name == "shutdown") {
        ShutdownRequest r;
        ISER_TRY(in.boolean("keep_devices", r.keep_devices));
        ISER_TRY(in.finish(true));
        return Request{r};
    }
    if (name == "list" || name == "stats") {
        ISER_TRY(in.finish(true));
        if (name == "stats") return Request{StatsRequest{}};
        return Request{ListRequest{}};
    }
    return invalid("unknown op '" + name.substr(0, 64) + "'");
}

std::string encode_reply(const Result<Reply>& reply) {
    Json j;
    if (reply.ok()) {
        j = {{"ok", true}};
        std::visit([&](const auto& r) { j.update(to_json(r)); }, reply.value());
    } else {
        int code = reply.error().code > 0 ? reply.error().code : EIO;
        j = {{"ok", false}, {"error", one_line(reply.error().message)}, {"errno", code}};
    }
    return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<Reply> decode_reply(const Request& request, std::string_view line) {
    auto parsed = parse_line(line, kMaxReplyBytes, "reply from iserd");
    if (!parsed) return parsed.take_error();
    const Json& j = *parsed;
    ObjectReader in(j, std::string(op_name(request)) + " reply");
    bool ok = false;
    auto okv = j.find("ok");
    if (okv == j.end() || !okv->is_boolean()) return invalid("reply from iserd has no \"ok\" boolean");
    ISER_TRY(in.boolean("ok", ok));
    if (!ok) {
        std::string message = "iserd failed without a reason";
        int code = EIO;
        ISER_TRY(in.string("error", message));
        ISER_TRY(in.number("errno", code));
        return make_error(code > 0 ? code : EIO, one_line(std::move(message)));
    }
    return std::visit([&](const auto& r) { return read_reply(in, r); }, request);
}

std::string reply_to_json_document(const Reply& reply) {
    Json j = std::visit([](const auto& r) { return to_json(r); }, reply);
    return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace iser::control
