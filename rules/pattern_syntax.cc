#include "rules/pattern_syntax.h"

#include <hs/hs.h>

#include <cstdlib>

namespace vigil::rules {

unsigned int PatternFlagsForHyperscan() { return HS_FLAG_CASELESS | HS_FLAG_UTF8; }

RE2::Options Re2OptionsForPatterns() {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_case_sensitive(false);
  options.set_max_mem(64 << 20);
  options.set_log_errors(false);
  return options;
}

Status CheckPattern(const std::string& regex, std::string* hs_error, std::string* re2_error,
                    bool* matches_empty, bool full_compile) {
  hs_error->clear();
  re2_error->clear();
  *matches_empty = false;

  if (regex.find('\0') != std::string::npos) {
    // Hyperscan takes a C string and would silently drop the tail.
    *hs_error = "the pattern contains a NUL byte; write it as \\x00";
  } else {
    const unsigned int flags = PatternFlagsForHyperscan();
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* error = nullptr;
    if (hs_expression_info(regex.c_str(), flags, &info, &error) != HS_SUCCESS) {
      *hs_error = error != nullptr ? error->message : "unknown Hyperscan error";
      hs_free_compile_error(error);
    } else {
      *matches_empty = info->min_width == 0;
      std::free(info);  // allocated by Hyperscan's default allocator (malloc)
      if (!*matches_empty && full_compile) {
        // Full compile: catches what expression analysis does not, such as
        // patterns too large for a database.
        hs_database_t* db = nullptr;
        if (hs_compile(regex.c_str(), flags, HS_MODE_BLOCK, nullptr, &db, &error) != HS_SUCCESS) {
          *hs_error = error != nullptr ? error->message : "unknown Hyperscan error";
          hs_free_compile_error(error);
        } else {
          hs_free_database(db);
        }
      }
    }
  }

  RE2 re2(regex, Re2OptionsForPatterns());
  if (!re2.ok()) *re2_error = re2.error();

  if (hs_error->empty() && re2_error->empty() && !*matches_empty) return Status::Ok();
  std::string message = "pattern rejected:";
  if (!hs_error->empty()) message += " Hyperscan: " + *hs_error + ";";
  if (!re2_error->empty()) message += " RE2: " + *re2_error + ";";
  if (*matches_empty) message += " matches the empty string;";
  message.pop_back();
  return Status::InvalidArgument(std::move(message));
}

}  // namespace vigil::rules
