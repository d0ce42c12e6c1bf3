// ApiService: a small route table (method, path pattern with {params},
// role), query parsing, and one handler per endpoint of docs/api.md.
// Responses are built with nlohmann::json and dumped with invalid UTF-8
// replaced, so stored bytes never break a reply.
#include "tools/api_service.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "scanner/document_parser.h"
#include "scanner/explain.h"
#include "scanner/normalize.h"
#include "scanner/utf8.h"
#include "storage/export_json.h"
#include "tools/rescan.h"

namespace vigil::daemon {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kDefaultBodyLimit = size_t{1} << 20;
constexpr size_t kMaxLeadsLimit = 500;
constexpr size_t kMaxAuditLimit = 1000;
constexpr size_t kMaxEntityAds = 500;
constexpr size_t kMaxNoteBytes = 10000;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

ApiResponse JsonResponse(int status, const json& j) {
  ApiResponse r;
  r.status = status;
  r.body = Dump(j);
  return r;
}

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return 200;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kConflict: return 409;
    case Status::Code::kBusy:
    case Status::Code::kUnavailable: return 503;
    default: return 500;
  }
}

std::string IsoMs(int64_t ms) { return storage::FormatIsoTime(ms / 1000); }

// Query string -> decoded key/value pairs (the last of a repeated key wins).
bool ParseQuery(std::string_view query, std::map<std::string, std::string>* out, std::string* error) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string key, value;
    if (!PercentDecode(part.substr(0, eq), true, &key) ||
        (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), true, &value))) {
      *error = fmt::format("query: malformed percent-escape in '{}'", part);
      return false;
    }
    if (!scanner::IsValidUtf8(key) || !scanner::IsValidUtf8(value)) {
      *error = "query: not valid UTF-8";
      return false;
    }
    (*out)[key] = value;
  }
  return true;
}

json ReviewJson(const storage::ReviewRecord& review, const std::vector<storage::ReviewHistoryEntry>& history) {
  json h = json::array();
  for (const storage::ReviewHistoryEntry& e : history) {
    h.push_back({{"time", IsoMs(e.at_ms)},
                 {"user", e.user},
                 {"status", storage::ReviewStatusName(e.to_status)},
                 {"assignee", e.to_assignee},
                 {"note", e.note},
                 {"version", e.version}});
  }
  return {{"status", storage::ReviewStatusName(review.status)},
          {"assignee", review.assignee},
          {"version", review.version},
          {"history", std::move(h)}};
}

json CountsJson(const storage::StatusCounts& counts, bool flagged_only) {
  json j = json::object();
  for (int i = 0; i < storage::kReviewStatusCount; ++i) {
    auto s = static_cast<storage::ReviewStatus>(i);
    j[storage::ReviewStatusName(s)] = flagged_only ? counts[s].flagged : counts[s].total;
  }
  return j;
}

std::optional<int64_t> ParseTimeParam(const std::string& v) {
  if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) && v.size() < 16) {
    return std::stoll(v);
  }
  return storage::ParseIsoTime(v);
}

bool ParseSize(const std::string& v, size_t* out) {
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && p == v.data() + v.size();
}

std::optional<scanner::EntityType> ParseEntityType(std::string_view t) {
  if (t == "phone") return scanner::EntityType::kPhone;
  if (t == "email") return scanner::EntityType::kEmail;
  if (t == "handle") return scanner::EntityType::kHandle;
  if (t == "url") return scanner::EntityType::kUrl;
  return std::nullopt;
}

// Accepts "+17025550147" and the plain NANP forms "7025550147" and
// "702-555-0147"; other values are taken as given.
std::string CanonicalEntityValue(scanner::EntityType type, std::string value) {
  if (type == scanner::EntityType::kPhone && !value.empty() && value[0] != '+') {
    std::string digits;
    for (char c : value) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    if (digits.size() == 10) return "+1" + digits;
    if (digits.size() == 11 && digits[0] == '1') return "+" + digits;
  }
  if (type == scanner::EntityType::kEmail) {
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  return value;
}

std::string CsvField(std::string_view v) {
  std::string s(v);
  // Spreadsheet formula injection: a leading =, +, - or @ is made text.
  if (!s.empty() && std::strchr("=+-@\t\r", s[0]) != nullptr) s.insert(s.begin(), '\'');
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

}  // namespace

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

enum class Access { kNone, kAny, kIngest, kInvestigator, kAdmin };

struct ApiService::Route {
  std::string method;
  std::vector<std::string> segments;  // "{}" matches one segment
  Access access;
  int id;
};

struct ApiService::Context {
  ApiRequest request;
  std::string path;
  std::map<std::string, std::string> query;
  std::vector<std::string> params;
  Principal principal;
  ApiResponse response;
};

namespace {
enum RouteId {
  kHealthz, kMetrics, kMe, kPostAds, kLeads, kAd, kReview, kEntity, kExport, kRules, kReload, kAudit,
  kStartRescan, kGetRescan
};

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

void SplitTarget(std::string_view target, std::string_view* path, std::string_view* query) {
  size_t q = target.find('?');
  *path = target.substr(0, q);
  *query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}
}  // namespace

ApiService::ApiService(storage::Store* store, LiveRules* rules, IngestPipeline* pipeline, TokenAuth* auth,
                       Metrics* metrics, Options options)
    : store_(store),
      rules_(rules),
      pipeline_(pipeline),
      auth_(auth),
      metrics_(metrics),
      options_(options),
      rescans_(std::make_unique<Rescans>()) {
  auto add = [&](const char* method, std::vector<std::string> segments, Access access, int id) {
    routes_.push_back(Route{method, std::move(segments), access, id});
  };
  add("GET", {"healthz"}, Access::kNone, kHealthz);
  add("GET", {"metrics"}, Access::kAdmin, kMetrics);
  add("GET", {"v1", "me"}, Access::kAny, kMe);
  add("POST", {"v1", "ads"}, Access::kIngest, kPostAds);
  add("GET", {"v1", "leads"}, Access::kInvestigator, kLeads);
  add("GET", {"v1", "ads", "{}"}, Access::kInvestigator, kAd);
  add("POST", {"v1", "leads", "{}", "review"}, Access::kInvestigator, kReview);
  add("GET", {"v1", "entities", "{}", "{}"}, Access::kInvestigator, kEntity);
  add("GET", {"v1", "export"}, Access::kInvestigator, kExport);
  add("GET", {"v1", "rules"}, Access::kInvestigator, kRules);
  add("POST", {"v1", "rules", "reload"}, Access::kAdmin, kReload);
  add("GET", {"v1", "audit"}, Access::kAdmin, kAudit);
  add("POST", {"v1", "rescans"}, Access::kAdmin, kStartRescan);
  add("GET", {"v1", "rescans", "{}"}, Access::kAdmin, kGetRescan);
}

// One background rescan: its thread, its progress and, when it ends, its
// report or error. Guarded by Rescans::mu.
struct RescanJob {
  std::string id;
  std::string pack;
  std::string user;
  std::string state = "running";  // running | done | stopped | failed
  bool dry_run = false;
  tools::RescanProgress progress;
  std::string report_json;        // when done or stopped
  std::string error;              // when failed
  std::thread thread;
};

struct ApiService::Rescans {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<RescanJob>> jobs;
  uint64_t next = 1;
  std::atomic<bool> stop{false};

  // The rescan that writes and is still running, or null. Two at once
  // would overwrite each other's checkpoint. Caller holds mu.
  const RescanJob* RunningWriter() const {
    for (const auto& [id, job] : jobs) {
      if (!job->dry_run && job->state == "running") return job.get();
    }
    return nullptr;
  }
  static std::string Busy(const RescanJob& job) {
    return fmt::format("rescan {} with {} is running and writes to the store; wait for it (GET /v1/rescans/{}) or "
                       "start a dry run",
                       job.id, job.pack, job.id);
  }

  ~Rescans() {
    stop = true;
    std::vector<std::shared_ptr<RescanJob>> all;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& [id, job] : jobs) all.push_back(job);
    }
    for (auto& job : all) {
      if (job->thread.joinable()) job->thread.join();
    }
  }
};

ApiService::~ApiService() = default;

bool ApiService::IsApiPath(std::string_view path) {
  return path == "/healthz" || path == "/metrics" || path == "/v1" || path.starts_with("/v1/");
}

size_t ApiService::BodyLimit(std::string_view method, std::string_view path) const {
  if (method == "POST" && path == "/v1/ads") return options_.max_body_bytes;
  return kDefaultBodyLimit;
}

ApiResponse ApiService::Error(int status, std::string_view message) {
  return JsonResponse(status, json{{"error", message}});
}

std::optional<ApiResponse> ApiService::Authorize(std::string_view method, std::string_view target,
                                                 std::string_view authorization) {
  Principal who;
  return Check(method, target, authorization, &who);
}

std::optional<ApiResponse> ApiService::Check(std::string_view method, std::string_view target,
                                             std::string_view authorization, Principal* principal) {
  std::string_view path, query;
  SplitTarget(target, &path, &query);
  std::vector<std::string_view> segs = SplitPath(path);
  const Route* route = nullptr;
  bool path_known = false;
  std::string allow;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      ok = r.segments[i] == "{}" ? !segs[i].empty() : r.segments[i] == segs[i];
    }
    if (!ok) continue;
    path_known = true;
    if (!allow.empty()) allow += ", ";
    allow += r.method;
    if (r.method == method) route = &r;
  }
  if (!path_known) return Error(404, fmt::format("no such endpoint: {}", path));
  if (!route) {
    ApiResponse r = Error(405, fmt::format("{} does not accept {}; use {}", path, method, allow));
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  if (route->access == Access::kNone) return std::nullopt;
  std::string_view token = authorization;
  constexpr std::string_view kBearer = "Bearer ";
  if (token.size() < kBearer.size() || !std::equal(kBearer.begin(), kBearer.end(), token.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      })) {
    if (metrics_) metrics_->CountError(ErrorKind::kUnauthorized);
    ApiResponse r = Error(401, "missing bearer token: send 'Authorization: Bearer TOKEN'");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vigil\"");
    return r;
  }
  token.remove_prefix(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  std::optional<Principal> who = auth_->Authenticate(token);
  if (!who) {
    if (metrics_) metrics_->CountError(ErrorKind::kUnauthorized);
    ApiResponse r = Error(401, "unknown or revoked token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vigil\", error=\"invalid_token\"");
    return r;
  }
  bool allowed = false;
  switch (route->access) {
    case Access::kNone:
    case Access::kAny: allowed = true; break;
    case Access::kIngest: allowed = RoleAllows(who->role, Role::kIngest); break;
    case Access::kInvestigator: allowed = RoleAllows(who->role, Role::kInvestigator); break;
    case Access::kAdmin: allowed = RoleAllows(who->role, Role::kAdmin); break;
  }
  *principal = *who;
  if (!allowed) {
    if (metrics_) metrics_->CountError(ErrorKind::kForbidden);
    return Error(403, fmt::format("the role '{}' of {} may not {} {}", RoleName(who->role), who->user, method, path));
  }
  return std::nullopt;
}

void ApiService::Handle(ApiRequest request, Responder done) {
  if (metrics_) metrics_->http_requests.fetch_add(1, std::memory_order_relaxed);
  Context c;
  if (std::optional<ApiResponse> refused = Check(request.method, request.target, request.authorization, &c.principal)) {
    done(std::move(*refused));
    return;
  }
  std::string_view path, query;
  SplitTarget(request.target, &path, &query);
  c.path = std::string(path);
  std::string error;
  if (!ParseQuery(query, &c.query, &error)) {
    if (metrics_) metrics_->CountError(ErrorKind::kBadRequest);
    done(Error(400, error));
    return;
  }
  const Route* route = nullptr;
  std::vector<std::string_view> segs = SplitPath(path);
  for (const Route& r : routes_) {
    if (r.method != request.method || r.segments.size() != segs.size()) continue;
    bool ok = true;
    std::vector<std::string> params;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      if (r.segments[i] == "{}") {
        std::string decoded;
        ok = !segs[i].empty() && PercentDecode(segs[i], false, &decoded);
        params.push_back(std::move(decoded));
      } else {
        ok = r.segments[i] == segs[i];
      }
    }
    if (ok) {
      route = &r;
      c.params = std::move(params);
      break;
    }
  }
  if (!route) {
    done(Error(400, fmt::format("{}: malformed percent-escape in the path", path)));
    return;
  }
  c.request = std::move(request);
  switch (route->id) {
    case kPostAds: PostAds(c, std::move(done)); return;
    case kReload: Reload(c, std::move(done)); return;
    case kHealthz: Healthz(c); break;
    case kMetrics: GetMetrics(c); break;
    case kMe: Me(c); break;
    case kLeads: ListLeads(c); break;
    case kAd: GetAd(c); break;
    case kReview: Review(c); break;
    case kEntity: GetEntity(c); break;
    case kExport: Export(c); break;
    case kRules: GetRules(c); break;
    case kAudit: ListAudit(c); break;
    case kGetRescan: GetRescan(c); break;
    case kStartRescan: StartRescan(c, std::move(done)); return;
  }
  if (metrics_ && c.response.status >= 400) {
    metrics_->CountError(c.response.status >= 500 ? ErrorKind::kStore : ErrorKind::kBadRequest);
  }
  done(std::move(c.response));
}

void ApiService::Healthz(Context& c) {
  c.response = JsonResponse(200, json{{"status", "ok"}, {"pack", rules_->PackLabel()}});
}

void ApiService::GetMetrics(Context& c) {
  c.response.status = 200;
  c.response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  c.response.body = metrics_ ? metrics_->RenderPrometheus() : std::string();
}

void ApiService::Me(Context& c) {
  c.response = JsonResponse(200, json{{"user", c.principal.user}, {"role", RoleName(c.principal.role)}});
}

void ApiService::PostAds(Context& c, Responder done) {
  std::string& body = c.request.body;
  if (body.size() > options_.max_body_bytes) {
    if (metrics_) metrics_->CountError(ErrorKind::kTooLarge);
    done(Error(413, fmt::format("body is {} bytes; the limit is {}", body.size(), options_.max_body_bytes)));
    return;
  }
  if (scanner::IsBlankLine(body)) {
    if (metrics_) metrics_->CountError(ErrorKind::kBadRequest);
    done(Error(400, "empty body: send NDJSON, one ad per line"));
    return;
  }
  // An oversized line, or too many lines, refuses the whole request before
  // anything is stored.
  uint64_t number = 1;
  for (size_t pos = 0; pos < body.size(); ++number) {
    if (number > options_.max_body_lines) {
      if (metrics_) metrics_->CountError(ErrorKind::kTooLarge);
      done(Error(413, fmt::format("body has more than {0} lines; the limit is {0} lines per request: split it "
                                  "into several requests (or use the TCP port)",
                                  options_.max_body_lines)));
      return;
    }
    const void* nl = std::memchr(body.data() + pos, '\n', body.size() - pos);
    size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - body.data()) : body.size();
    if (end - pos > options_.max_line_bytes) {
      if (metrics_) metrics_->CountError(ErrorKind::kTooLarge);
      done(Error(413, fmt::format("line {} is {} bytes; the limit is {}", number, end - pos, options_.max_line_bytes)));
      return;
    }
    pos = end + 1;
  }
  Metrics* metrics = metrics_;
  Status s = pipeline_->Submit(std::move(body), 1, [done, metrics](IngestOutcome out) {
    if (!out.status.ok()) {
      done(Error(HttpStatusOf(out.status) == 503 ? 503 : 500, "store: " + out.status.message()));
      return;
    }
    json errors = json::array();
    for (const LineError& e : out.errors) errors.push_back({{"line", e.line}, {"error", e.error}});
    json reply = {{"accepted", out.accepted},
                  {"new", out.new_ads + out.new_versions},
                  {"new_versions", out.new_versions},
                  {"duplicates", out.duplicates},
                  {"flagged", out.flagged},
                  {"errors", std::move(errors)},
                  {"pack", out.pack}};
    int status = 200;
    if (out.accepted == 0 && !out.errors.empty()) {
      status = 400;
      reply["error"] = fmt::format("no line was accepted; line {}: {}", out.errors[0].line, out.errors[0].error);
      if (metrics) metrics->CountError(ErrorKind::kBadRequest);
    }
    done(JsonResponse(status, reply));
  });
  if (!s.ok()) {
    if (metrics_) metrics_->CountError(ErrorKind::kQueueFull);
    ApiResponse r = Error(503, s.message() + "; retry later");
    r.headers.emplace_back("Retry-After", "1");
    done(std::move(r));
  }
}

void ApiService::ListLeads(Context& c) {
  storage::LeadQuery q;
  q.flagged_only = true;
  const auto& p = c.query;
  static const std::set<std::string> kKnown = {"status", "category", "min_score", "since", "until", "city",
                                               "q",      "order",    "flagged",   "limit", "cursor"};
  for (const auto& [k, v] : p) {
    if (!kKnown.count(k)) {
      c.response = Error(400, fmt::format("unknown query parameter '{}'", k));
      return;
    }
  }
  if (auto it = p.find("status"); it != p.end() && !it->second.empty()) {
    q.status = storage::ParseReviewStatus(it->second);
    if (!q.status) {
      c.response = Error(400, fmt::format("status: '{}' is not one of new, in_review, escalated, dismissed, needs_info",
                                          it->second));
      return;
    }
  }
  if (auto it = p.find("category"); it != p.end()) q.category = it->second;
  if (auto it = p.find("min_score"); it != p.end() && !it->second.empty()) {
    char* end = nullptr;
    q.min_score = std::strtod(it->second.c_str(), &end);
    if (end != it->second.c_str() + it->second.size() || !std::isfinite(q.min_score)) {
      c.response = Error(400, fmt::format("min_score: '{}' is not a number", it->second));
      return;
    }
  }
  for (const char* key : {"since", "until"}) {
    if (auto it = p.find(key); it != p.end() && !it->second.empty()) {
      std::optional<int64_t> t = ParseTimeParam(it->second);
      if (!t) {
        c.response = Error(400, fmt::format("{}: '{}' is not an ISO 8601 date or Unix seconds", key, it->second));
        return;
      }
      (std::strcmp(key, "since") == 0 ? q.since : q.until) = *t;
    }
  }
  if (auto it = p.find("city"); it != p.end()) q.city = it->second;
  if (auto it = p.find("q"); it != p.end()) q.text = it->second;
  if (auto it = p.find("order"); it != p.end() && !it->second.empty()) {
    if (it->second == "score") {
      q.order = storage::LeadOrder::kScore;
    } else if (it->second == "time") {
      q.order = storage::LeadOrder::kTime;
    } else {
      c.response = Error(400, "order: use 'score' or 'time'");
      return;
    }
  }
  if (auto it = p.find("flagged"); it != p.end() && !it->second.empty()) {
    if (it->second != "true" && it->second != "false") {
      c.response = Error(400, "flagged: use 'true' or 'false'");
      return;
    }
    q.flagged_only = it->second == "true";
  }
  if (auto it = p.find("limit"); it != p.end() && !it->second.empty()) {
    if (!ParseSize(it->second, &q.limit) || q.limit < 1 || q.limit > kMaxLeadsLimit) {
      c.response = Error(400, fmt::format("limit: give a number from 1 to {}", kMaxLeadsLimit));
      return;
    }
  }
  if (auto it = p.find("cursor"); it != p.end()) q.cursor = it->second;
  Result<storage::LeadPage> page = store_->ListLeads(q);
  if (!page.ok()) {
    c.response = Error(HttpStatusOf(page.status()), page.status().message());
    return;
  }
  Result<storage::StatusCounts> counts = store_->CountByStatus();
  if (!counts.ok()) {
    c.response = Error(500, counts.status().message());
    return;
  }
  json leads = json::array();
  for (const storage::LeadSummary& l : page->leads) {
    std::string assignee;
    if (Result<storage::AdDetail> ad = store_->GetAd(l.ad_id); ad.ok()) assignee = ad->review.assignee;
    leads.push_back({{"ad_id", l.ad_id},
                     {"score", l.score},
                     {"flagged", l.flagged},
                     {"categories", l.categories},
                     {"status", storage::ReviewStatusName(l.status)},
                     {"assignee", assignee},
                     {"posted_at", l.posted_at},
                     {"city", l.city},
                     {"pack_version", l.pack_version},
                     {"snippet", l.snippet},
                     {"network", l.network}});
  }
  c.response = JsonResponse(200, json{{"leads", std::move(leads)},
                                      {"next_cursor", page->next_cursor},
                                      {"counts", CountsJson(*counts, q.flagged_only)}});
}

void ApiService::GetAd(Context& c) {
  const std::string& id = c.params[0];
  const Result<std::string> rescan_record = tools::ReadLastRescanRecord(*store_);
  Result<storage::AdDetail> ad = store_->GetAd(id);
  if (!ad.ok()) {
    c.response = Error(HttpStatusOf(ad.status()),
                       ad.status().IsNotFound() ? fmt::format("no ad with id '{}'", id) : ad.status().message());
    return;
  }
  storage::AuditEvent event;
  event.user = c.principal.user;
  event.action = "view";
  event.target = id;
  event.detail = fmt::format("version {}", ad->ad.version);
  if (Result<uint64_t> seq = store_->AppendAudit(event); !seq.ok()) {
    // No view without its audit record.
    c.response = Error(500, "audit log: " + seq.status().message());
    return;
  }
  const scanner::Document& doc = ad->ad.doc;
  json metadata = json::object();
  if (!doc.metadata_json.empty()) {
    json m = json::parse(doc.metadata_json, nullptr, false);
    if (m.is_object()) metadata = std::move(m);
  }
  json ad_json = {{"id", doc.id},
                  {"text", doc.text},
                  {"url", doc.url},
                  {"source", doc.source},
                  {"city", doc.city},
                  {"posted_at", doc.posted_at},
                  {"fetched_at", doc.fetched_at},
                  {"content_hash", ad->ad.content_hash},
                  {"metadata", std::move(metadata)},
                  {"version", ad->ad.version},
                  {"versions", ad->version_count},
                  {"ingested_at", IsoMs(ad->ad.ingested_at_ms)}};
  std::shared_ptr<const scanner::Scanner> scan = rules_->Current();
  const rules::CompiledRuleSet* set = scan ? &scan->rules() : nullptr;
  json hits = json::array();
  for (size_t i = 0; i < ad->findings.hits.size(); ++i) {
    const scanner::Hit& h = ad->findings.hits[i];
    json hit = {{"rule", h.rule},         {"category", h.category}, {"start", h.start},
                {"end", h.end},           {"match", h.match},       {"normalized", h.normalized},
                {"evidence", h.evidence}, {"weight", h.weight},     {"title", ""},
                {"description", ""},      {"references", json::array()}};
    if (i < ad->finding_ids.size()) hit["finding_id"] = ad->finding_ids[i];
    if (set) {
      if (int r = set->FindRule(h.rule); r >= 0) {
        const rules::RuleInfo& info = set->rules()[static_cast<size_t>(r)];
        hit["title"] = info.title;
        hit["description"] = info.description;
        hit["references"] = info.references;
      }
    }
    hits.push_back(std::move(hit));
  }
  json entities = json::array();
  for (const scanner::Entity& e : ad->findings.entities) {
    json ej = {{"type", scanner::EntityTypeName(e.type)},
               {"value", e.value},
               {"obfuscated", e.obfuscated},
               {"start", e.start},
               {"end", e.end},
               {"linked_ads", 0}};
    if (storage::IsIndexedEntity(e.type)) {
      if (Result<storage::EntityDetail> d = store_->GetEntity(e.type, e.value, 1); d.ok() && d->stats.ads > 0) {
        ej["linked_ads"] = d->stats.ads - 1;
      }
    }
    if (!e.platform.empty()) ej["platform"] = e.platform;
    if (!e.unit.empty()) ej["unit"] = e.unit;
    if (!e.duration.empty()) ej["duration"] = e.duration;
    entities.push_back(std::move(ej));
  }
  json changes = json::array();
  scanner::NormalizedText normalized;
  scanner::Normalizer().Normalize(doc.text, &normalized);
  for (const scanner::TextChange& t : scanner::DescribeNormalization(doc.text, normalized)) {
    changes.push_back({{"start", t.start}, {"end", t.end}, {"original", t.original}, {"read_as", t.read_as}});
  }
  json findings = {{"score", ad->lead.score},
                   {"base_score", ad->lead.base_score},
                   {"flagged", ad->lead.flagged},
                   {"network", ad->lead.network},
                   {"categories", storage::EffectiveCategories(ad->lead)},
                   {"pack_version", ad->findings.pack_version},
                   {"hits", std::move(hits)},
                   {"entities", std::move(entities)},
                   {"changes", std::move(changes)},
                   // Per-document limits the scan reached (docs/security.md); [] when none.
                   {"truncated", ad->findings.truncated}};
  // A later pack that read this version in a completed rescan and found
  // the same (the label stays the pack that produced the findings).
  if (Result<tools::LastRescan> last =
          tools::LastRescanThatRead(*store_, rescan_record, ad->ad, ad->findings.pack_version);
      last.ok()) {
    findings["unchanged_by"] = {{"pack", last->pack}, {"finished_at", IsoMs(last->finished_at_ms)}};
  }
  c.response = JsonResponse(200, json{{"ad", std::move(ad_json)},
                                      {"findings", std::move(findings)},
                                      {"review", ReviewJson(ad->review, ad->history)}});
}

void ApiService::Review(Context& c) {
  const std::string& id = c.params[0];
  if (!scanner::IsValidUtf8(c.request.body)) {
    c.response = Error(400, "body: not valid UTF-8");
    return;
  }
  json body = json::parse(c.request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    c.response = Error(400, "body: expected a JSON object like {\"status\":\"escalated\",\"note\":\"...\"}");
    return;
  }
  storage::ReviewAction action;
  action.user = c.principal.user;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "status") {
      if (!v.is_string() || !storage::ParseReviewStatus(v.get<std::string>())) {
        c.response = Error(400, "status: use one of new, in_review, escalated, dismissed, needs_info");
        return;
      }
      action.status = storage::ParseReviewStatus(v.get<std::string>());
    } else if (key == "note") {
      if (!v.is_string() || v.get<std::string>().size() > kMaxNoteBytes) {
        c.response = Error(400, fmt::format("note: a string of at most {} bytes", kMaxNoteBytes));
        return;
      }
      action.note = v.get<std::string>();
    } else if (key == "assignee") {
      if (!v.is_string() || v.get<std::string>().size() > 128) {
        c.response = Error(400, "assignee: a user name (a string of at most 128 bytes; \"\" unassigns)");
        return;
      }
      action.assignee = v.get<std::string>();
    } else if (key == "expected_version") {
      if (!v.is_number_unsigned()) {
        c.response = Error(400, "expected_version: a non-negative integer (the review version you saw)");
        return;
      }
      action.expected_version = v.get<uint64_t>();
    } else {
      c.response = Error(400, fmt::format("unknown field '{}'; use status, note, assignee, expected_version", key));
      return;
    }
  }
  if (!action.status && !action.assignee && action.note.empty()) {
    c.response = Error(400, "give at least one of status, note, assignee");
    return;
  }
  Result<storage::ReviewRecord> done = store_->Review(id, action);
  if (!done.ok()) {
    if (done.status().IsConflict()) {
      json reply = {{"error", "conflict: " + done.status().message()}};
      if (Result<storage::AdDetail> ad = store_->GetAd(id); ad.ok()) reply["review"] = ReviewJson(ad->review, ad->history);
      c.response = JsonResponse(409, reply);
      return;
    }
    c.response = Error(HttpStatusOf(done.status()), done.status().IsNotFound()
                                                        ? fmt::format("no ad with id '{}'", id)
                                                        : done.status().message());
    return;
  }
  Result<storage::AdDetail> ad = store_->GetAd(id);
  if (!ad.ok()) {
    c.response = Error(500, ad.status().message());
    return;
  }
  c.response = JsonResponse(200, json{{"review", ReviewJson(ad->review, ad->history)}});
}

void ApiService::GetEntity(Context& c) {
  std::optional<scanner::EntityType> type = ParseEntityType(c.params[0]);
  if (!type) {
    c.response = Error(400, fmt::format("entity type '{}': use phone, email, handle or url", c.params[0]));
    return;
  }
  std::string value = CanonicalEntityValue(*type, c.params[1]);
  Result<storage::EntityDetail> d = store_->GetEntity(*type, value, kMaxEntityAds);
  if (!d.ok()) {
    c.response = Error(HttpStatusOf(d.status()), d.status().IsNotFound()
                                                     ? fmt::format("no ad carries {} {}", c.params[0], value)
                                                     : d.status().message());
    return;
  }
  storage::AuditEvent event{0, 0, c.principal.user, "view_entity", fmt::format("{}:{}", c.params[0], value), ""};
  if (Result<uint64_t> seq = store_->AppendAudit(event); !seq.ok()) {
    c.response = Error(500, "audit log: " + seq.status().message());
    return;
  }
  json ads = json::array();
  std::map<std::pair<std::string, std::string>, int> timeline;
  for (const storage::Posting& p : d->postings) {
    json a = {{"ad_id", p.ad_id}, {"posted_at", storage::FormatIsoTime(p.time)}, {"city", p.city},
              {"score", 0.0},     {"status", "new"}};
    if (Result<storage::AdDetail> ad = store_->GetAd(p.ad_id); ad.ok()) {
      a["score"] = ad->lead.score;
      a["status"] = storage::ReviewStatusName(ad->review.status);
      if (!ad->ad.doc.posted_at.empty()) a["posted_at"] = ad->ad.doc.posted_at;
      if (!ad->ad.doc.city.empty()) a["city"] = ad->ad.doc.city;
    }
    ++timeline[{storage::FormatIsoTime(p.time).substr(0, 10), p.city}];
    ads.push_back(std::move(a));
  }
  json tl = json::array();
  for (const auto& [key, n] : timeline) tl.push_back({{"day", key.first}, {"city", key.second}, {"ads", n}});
  json stats = {{"ads", d->stats.ads},
                {"cities", d->stats.cities},
                {"first_seen", storage::FormatIsoTime(d->stats.first_seen)},
                {"last_seen", storage::FormatIsoTime(d->stats.last_seen)},
                {"network", d->stats.network}};
  c.response = JsonResponse(200, json{{"type", c.params[0]},
                                      {"value", value},
                                      {"stats", std::move(stats)},
                                      {"ads", std::move(ads)},
                                      {"timeline", std::move(tl)}});
}

void ApiService::Export(Context& c) {
  storage::ExportQuery q;
  const auto& p = c.query;
  std::string format = "jsonl";
  for (const auto& [k, v] : p) {
    if (k == "status") {
      if (!v.empty()) {
        q.status = storage::ParseReviewStatus(v);
        if (!q.status) {
          c.response = Error(400, fmt::format("status: '{}' is not a review status", v));
          return;
        }
      }
    } else if (k == "entity") {
      size_t colon = v.find(':');
      std::optional<scanner::EntityType> type =
          colon == std::string::npos ? std::nullopt : ParseEntityType(std::string_view(v).substr(0, colon));
      if (!type || colon + 1 >= v.size()) {
        c.response = Error(400, "entity: use TYPE:VALUE, e.g. phone:+17025550147");
        return;
      }
      q.entity = storage::EntityKey{*type, CanonicalEntityValue(*type, v.substr(colon + 1))};
    } else if (k == "ids") {
      size_t pos = 0;
      while (pos <= v.size()) {
        size_t comma = v.find(',', pos);
        if (comma == std::string::npos) comma = v.size();
        if (comma > pos) q.ad_ids.push_back(v.substr(pos, comma - pos));
        pos = comma + 1;
      }
    } else if (k == "format") {
      if (v != "jsonl" && v != "csv") {
        c.response = Error(400, "format: use jsonl or csv");
        return;
      }
      format = v;
    } else if (k == "purpose") {
      q.purpose = v;
    } else {
      c.response = Error(400, fmt::format("unknown query parameter '{}'", k));
      return;
    }
  }
  if (!q.status && !q.entity && q.ad_ids.empty()) {
    c.response = Error(400, "say what to export: status, entity or ids");
    return;
  }
  const Result<std::string> rescan_record = tools::ReadLastRescanRecord(*store_);
  Result<storage::ExportResult> r = store_->Export(q, c.principal.user);
  if (!r.ok()) {
    c.response = Error(HttpStatusOf(r.status()), r.status().message());
    return;
  }
  tools::CiteLastRescan(*store_, rescan_record, &r->records);
  std::string out;
  if (format == "jsonl") {
    for (const storage::ExportRecord& rec : r->records) {
      out += storage::ExportRecordToJson(rec);
      out += '\n';
    }
    c.response.content_type = "application/x-ndjson; charset=utf-8";
  } else {
    out = "ad_id,version,content_hash,url,source,city,posted_at,fetched_at,score,flagged,categories,status,"
          "pack_version,rules,text,unchanged_by_pack,unchanged_by_finished_at\r\n";
    for (const storage::ExportRecord& rec : r->records) {
      std::vector<std::string> rule_ids;
      for (const scanner::Hit& h : rec.findings.hits) rule_ids.push_back(h.rule);
      std::string text;
      scanner::ReplaceInvalidUtf8Bytes(rec.ad.doc.text, &text);
      std::vector<std::string> fields = {rec.ad.doc.id,
                                         std::to_string(rec.ad.version),
                                         rec.ad.content_hash,
                                         rec.ad.doc.url,
                                         rec.ad.doc.source,
                                         rec.ad.doc.city,
                                         rec.ad.doc.posted_at,
                                         rec.ad.doc.fetched_at,
                                         fmt::format("{:.4f}", rec.lead.score),
                                         rec.lead.flagged ? "true" : "false",
                                         Join(storage::EffectiveCategories(rec.lead), ";"),
                                         storage::ReviewStatusName(rec.review.status),
                                         rec.lead.pack_version,
                                         Join(rule_ids, ";"),
                                         text,
                                         rec.unchanged_by ? rec.unchanged_by->pack : std::string(),
                                         rec.unchanged_by ? IsoMs(rec.unchanged_by->finished_at_ms) : std::string()};
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ',';
        out += CsvField(fields[i]);
      }
      out += "\r\n";
    }
    c.response.content_type = "text/csv; charset=utf-8";
  }
  c.response.status = 200;
  c.response.headers.emplace_back("Content-Disposition",
                                  fmt::format("attachment; filename=\"vigil-export-{}.{}\"", r->audit_seq, format));
  c.response.headers.emplace_back("X-Vigil-Audit-Seq", std::to_string(r->audit_seq));
  c.response.body = std::move(out);
}

void ApiService::GetRules(Context& c) {
  std::shared_ptr<const scanner::Scanner> scan = rules_->Current();
  if (!scan) {
    c.response = Error(503, "no rule pack is loaded");
    return;
  }
  const rules::CompiledRuleSet& set = scan->rules();
  json categories = json::array();
  for (const rules::CategoryInfo& cat : set.categories()) {
    categories.push_back({{"id", cat.id}, {"title", cat.title}, {"description", cat.description}, {"color", cat.color}});
  }
  json rules = json::array();
  for (const rules::RuleInfo& r : set.rules()) {
    rules.push_back({{"id", r.id},
                     {"title", r.title},
                     {"description", r.description},
                     {"category", r.category},
                     {"weight", r.weight},
                     {"evidence", rules::EvidenceName(r.evidence)},
                     {"status", rules::RuleStatusName(r.status)},
                     {"references", r.references},
                     {"patterns", r.patterns}});
  }
  c.response = JsonResponse(200, json{{"pack", set.pack_label()},
                                      {"name", set.pack_name()},
                                      {"version", set.pack_version()},
                                      {"hash", set.pack_hash()},
                                      {"threshold", set.threshold()},
                                      {"categories", std::move(categories)},
                                      {"rules", std::move(rules)}});
}

void ApiService::Reload(Context& c, Responder done) {
  spdlog::info("rules reload requested by {}", c.principal.user);
  Metrics* metrics = metrics_;
  rules_->Reload([done, metrics](const ReloadOutcome& out) {
    if (out.status.ok()) {
      if (metrics) metrics->rule_reloads.fetch_add(1, std::memory_order_relaxed);
      done(JsonResponse(200, json{{"pack", out.pack}}));
    } else {
      if (metrics) metrics->CountError(ErrorKind::kReloadFailed);
      done(JsonResponse(422, json{{"error", out.status.message()}, {"diagnostics", out.diagnostics}, {"pack", out.pack}}));
    }
  });
}

// POST /v1/rescans: reload the pack (so live ingest uses it at once), then
// rescan the archive with it in the background. Body (optional):
// {"dry_run": bool, "category": "youth", "since": unix_seconds}.
void ApiService::StartRescan(Context& c, Responder done) {
  tools::RescanOptions options;
  if (!c.request.body.empty()) {
    json body = json::parse(c.request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      done(Error(400, "the body must be a JSON object: {\"dry_run\": false, \"category\": \"...\", \"since\": 0}"));
      return;
    }
    for (const auto& [key, value] : body.items()) {
      if (key == "dry_run" && value.is_boolean()) {
        options.dry_run = value.get<bool>();
      } else if (key == "category" && value.is_string()) {
        options.category = value.get<std::string>();
      } else if (key == "since" && value.is_number_integer()) {
        options.since = value.get<int64_t>();
      } else {
        done(Error(400, fmt::format("unknown or mistyped field '{}' (dry_run: bool, category: string, since: "
                                    "integer Unix seconds)",
                                    key)));
        return;
      }
    }
  }
  Rescans* rescans = rescans_.get();
  if (!options.dry_run) {
    std::lock_guard<std::mutex> lock(rescans->mu);
    if (const RescanJob* running = rescans->RunningWriter()) {
      done(Error(409, Rescans::Busy(*running)));
      return;
    }
  }
  storage::Store* store = store_;
  std::string user = c.principal.user;
  Metrics* metrics = metrics_;
  LiveRules* live = rules_;
  rules_->Reload([=](const ReloadOutcome& out) {
    if (!out.status.ok()) {
      if (metrics) metrics->CountError(ErrorKind::kReloadFailed);
      done(JsonResponse(422, json{{"error", out.status.message()}, {"diagnostics", out.diagnostics}, {"pack", out.pack}}));
      return;
    }
    if (metrics) metrics->rule_reloads.fetch_add(1, std::memory_order_relaxed);
    auto job = std::make_shared<RescanJob>();
    {
      std::lock_guard<std::mutex> lock(rescans->mu);
      // Another may have started while the pack was reloading.
      if (const RescanJob* running = options.dry_run ? nullptr : rescans->RunningWriter()) {
        done(Error(409, Rescans::Busy(*running)));
        return;
      }
      job->dry_run = options.dry_run;
      job->id = fmt::format("r{}", rescans->next++);
      job->pack = out.pack;
      job->user = user;
      rescans->jobs[job->id] = job;
    }
    storage::AuditEvent event;
    event.user = user;
    event.action = "rescan";
    event.target = job->id;
    event.detail = fmt::format("pack {}{}", out.pack, options.dry_run ? " (dry run)" : "");
    (void)store->AppendAudit(event);
    std::shared_ptr<const scanner::Scanner> scan = live->Current();
    job->thread = std::thread([store, rescans, scan, options, job_ptr = job.get()] {
      tools::Rescanner rescanner(store, scan, options);
      Result<tools::RescanReport> report = rescanner.Run(
          [&](const tools::RescanProgress& p) {
            std::lock_guard<std::mutex> lock(rescans->mu);
            job_ptr->progress = p;
          },
          &rescans->stop);
      std::lock_guard<std::mutex> lock(rescans->mu);
      if (report.ok()) {
        job_ptr->report_json = report->ToJson();
        job_ptr->state = report->complete ? "done" : "stopped";
      } else {
        job_ptr->error = report.status().message();
        job_ptr->state = "failed";
      }
    });
    spdlog::info("rescan {} started by {} with {}", job->id, user, out.pack);
    done(JsonResponse(202, json{{"id", job->id}, {"pack", out.pack}, {"state", "running"}}));
  });
}

// GET /v1/rescans/{id}: progress, and the report once it is done.
void ApiService::GetRescan(Context& c) {
  std::lock_guard<std::mutex> lock(rescans_->mu);
  auto it = rescans_->jobs.find(c.params[0]);
  if (it == rescans_->jobs.end()) {
    c.response = Error(404, fmt::format("no rescan '{}'", c.params[0]));
    return;
  }
  const RescanJob& job = *it->second;
  json out{{"id", job.id},
           {"pack", job.pack},
           {"user", job.user},
           {"state", job.state},
           {"progress",
            {{"examined", job.progress.examined},
             {"total", job.progress.total},
             {"rescanned", job.progress.rescanned},
             {"bytes", job.progress.bytes},
             {"seconds", job.progress.seconds},
             {"resumed", job.progress.resumed}}}};
  if (!job.report_json.empty()) {
    json report = json::parse(job.report_json, nullptr, /*allow_exceptions=*/false);
    if (!report.is_discarded()) out["report"] = std::move(report);
  }
  if (!job.error.empty()) out["error"] = job.error;
  c.response = JsonResponse(200, out);
}

void ApiService::ListAudit(Context& c) {
  storage::AuditQuery q;
  for (const auto& [k, v] : c.query) {
    if (k == "user") {
      q.user = v;
    } else if (k == "action") {
      q.action = v;
    } else if (k == "target") {
      q.target = v;
    } else if (k == "limit") {
      if (!ParseSize(v, &q.limit) || q.limit < 1 || q.limit > kMaxAuditLimit) {
        c.response = Error(400, fmt::format("limit: give a number from 1 to {}", kMaxAuditLimit));
        return;
      }
    } else {
      c.response = Error(400, fmt::format("unknown query parameter '{}'", k));
      return;
    }
  }
  Result<std::vector<storage::AuditEvent>> events = store_->ListAudit(q);
  if (!events.ok()) {
    c.response = Error(HttpStatusOf(events.status()), events.status().message());
    return;
  }
  json out = json::array();
  for (const storage::AuditEvent& e : *events) {
    out.push_back({{"seq", e.seq}, {"time", IsoMs(e.at_ms)}, {"user", e.user}, {"action", e.action},
                   {"target", e.target}, {"detail", e.detail}});
  }
  c.response = JsonResponse(200, json{{"events", std::move(out)}});
}

}  // namespace vigil::daemon
