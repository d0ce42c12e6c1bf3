// JSON form of exported ads: one object per ExportRecord, for JSON Lines
// files handed to other agencies. Carries the provenance a recipient needs
// to check what they got: url, fetched_at, ingest time, content hash,
// version, rule ids with finding ids and spans, the pack version, and
// `unchanged_by` ({"pack","finished_at"}) when a later pack's completed
// rescan read the ad and found the same findings (ExportRecord).
//
// Pure function; thread-safe.
#pragma once

#include <string>

#include "storage/store.h"

namespace vigil::storage {

// One line of JSON (no trailing newline). Invalid UTF-8 in the ad is
// replaced by U+FFFD. Without `include_text` the text is left out (spans
// and matches stay).
std::string ExportRecordToJson(const ExportRecord& record, bool include_text = true);

}  // namespace vigil::storage
