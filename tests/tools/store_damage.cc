// store_damage: damages a vigil store behind vigil's back, for the tests of
// `vigil store check` (tests/tools/store_cli_test.sh). Opens the store's
// RocksDB directly (every column family) and deletes the findings record of
// one ad, which leaves that ad without findings.
//
//   store_damage DIR AD_ID
#include <rocksdb/db.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

int Fail(const rocksdb::Status& s) {
  std::fprintf(stderr, "store_damage: %s\n", s.ToString().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_damage DIR AD_ID\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<std::string> names;
  rocksdb::DBOptions options;
  if (rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, dir, &names); !s.ok()) return Fail(s);
  const auto findings = std::find(names.begin(), names.end(), "findings");
  if (findings == names.end()) {
    std::fprintf(stderr, "store_damage: %s has no findings family\n", dir.c_str());
    return 2;
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (rocksdb::Status s = rocksdb::DB::Open(options, dir, descriptors, &handles, &raw); !s.ok()) return Fail(s);
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* h = handles[static_cast<size_t>(findings - names.begin())];
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db->Delete(wo, h, argv[2]);
  if (s.ok()) s = db->Flush(rocksdb::FlushOptions(), h);
  for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
  return s.ok() ? 0 : Fail(s);
}
