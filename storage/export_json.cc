#include "storage/export_json.h"

#include <nlohmann/json.hpp>

namespace vigil::storage {

std::string ExportRecordToJson(const ExportRecord& r, bool include_text) {
  using nlohmann::json;
  const scanner::Document& d = r.ad.doc;
  json j = json::object();
  j["ad_id"] = d.id;
  j["version"] = r.ad.version;
  j["content_hash"] = r.ad.content_hash;
  j["url"] = d.url;
  j["source"] = d.source;
  j["city"] = d.city;
  j["posted_at"] = d.posted_at;
  j["fetched_at"] = d.fetched_at;
  j["ingested_at"] = FormatIsoTime(r.ad.ingested_at_ms / 1000);
  j["time"] = FormatIsoTime(r.ad.time);
  if (!d.metadata_json.empty()) {
    json metadata = json::parse(d.metadata_json, nullptr, /*allow_exceptions=*/false);
    j["metadata"] = metadata.is_discarded() ? json(d.metadata_json) : std::move(metadata);
  }
  if (include_text) j["text"] = d.text;
  j["pack_version"] = r.findings.pack_version;
  if (r.unchanged_by) {
    j["unchanged_by"] = {{"pack", r.unchanged_by->pack},
                         {"finished_at", FormatIsoTime(r.unchanged_by->finished_at_ms / 1000)}};
  }
  j["score"] = r.lead.score;
  j["base_score"] = r.lead.base_score;
  j["flagged"] = r.lead.flagged;
  j["network"] = r.lead.network;
  j["categories"] = EffectiveCategories(r.lead);
  j["review"] = {{"status", ReviewStatusName(r.review.status)},
                 {"assignee", r.review.assignee},
                 {"version", r.review.version}};
  json hits = json::array();
  for (size_t i = 0; i < r.findings.hits.size(); ++i) {
    const scanner::Hit& h = r.findings.hits[i];
    hits.push_back({{"finding_id", i < r.finding_ids.size() ? r.finding_ids[i] : std::string()},
                    {"rule", h.rule},
                    {"category", h.category},
                    {"start", h.start},
                    {"end", h.end},
                    {"match", h.match},
                    {"weight", h.weight},
                    {"evidence", h.evidence}});
  }
  j["hits"] = std::move(hits);
  json entities = json::array();
  for (const scanner::Entity& e : r.findings.entities) {
    json x = {{"type", scanner::EntityTypeName(e.type)},
              {"value", e.value},
              {"start", e.start},
              {"end", e.end},
              {"obfuscated", e.obfuscated}};
    if (!e.platform.empty()) x["platform"] = e.platform;
    if (!e.unit.empty()) x["unit"] = e.unit;
    if (!e.duration.empty()) x["duration"] = e.duration;
    entities.push_back(std::move(x));
  }
  j["entities"] = std::move(entities);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace vigil::storage
