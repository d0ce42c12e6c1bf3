#include "rules/build_ids.h"

#include <elf.h>
#include <link.h>

#include <cstring>

namespace vigil::rules {

namespace {

// The NT_GNU_BUILD_ID note of one PT_NOTE segment, if it has one.
void ReadBuildId(const dl_phdr_info& info, const ElfW(Phdr)& ph, std::string* out) {
  // Offsets as glibc's ELF_NOTE_DESC_OFFSET and ELF_NOTE_NEXT_OFFSET have
  // them: the descriptor and the next note start at the segment's alignment.
  const size_t align = ph.p_align == 8 ? 8 : 4;
  const auto pad = [align](size_t n) { return (n + align - 1) & ~(align - 1); };
  const char* p = reinterpret_cast<const char*>(info.dlpi_addr + ph.p_vaddr);
  size_t left = ph.p_memsz;
  while (left >= sizeof(ElfW(Nhdr))) {
    ElfW(Nhdr) note;
    std::memcpy(&note, p, sizeof(note));
    const size_t name_at = sizeof(note), desc_at = pad(name_at + note.n_namesz);
    const size_t total = pad(desc_at + note.n_descsz);
    if (total > left || desc_at + note.n_descsz > left) break;
    if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(p + name_at, "GNU", 4) == 0) {
      out->assign(p + desc_at, note.n_descsz);
      return;
    }
    p += total;
    left -= total;
  }
}

// The DT_NEEDED names of a PT_DYNAMIC segment. The loader relocates the
// string table's address in place where the segment is writable (as on
// x86-64) and leaves it relative to the load address where it is not.
void ReadNeeded(const dl_phdr_info& info, const ElfW(Phdr)& ph, std::vector<std::string>* out) {
  const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(info.dlpi_addr + ph.p_vaddr);
  ElfW(Addr) strtab = 0;
  std::vector<ElfW(Xword)> offsets;
  for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
    if (d->d_tag == DT_NEEDED) offsets.push_back(d->d_un.d_val);
  }
  if (strtab == 0) return;
  if (strtab < info.dlpi_addr) strtab += info.dlpi_addr;
  for (ElfW(Xword) off : offsets) out->emplace_back(reinterpret_cast<const char*>(strtab + off));
}

int VisitObject(struct dl_phdr_info* info, size_t, void* data) {
  auto* objects = static_cast<std::vector<LoadedObject>*>(data);
  LoadedObject& o = objects->emplace_back();
  if (info->dlpi_name) o.path = info->dlpi_name;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_NOTE && o.build_id.empty()) ReadBuildId(*info, ph, &o.build_id);
    if (ph.p_type == PT_DYNAMIC) ReadNeeded(*info, ph, &o.needed);
  }
  return 0;
}

}  // namespace

std::vector<LoadedObject> LoadedObjects() {
  std::vector<LoadedObject> objects;
  dl_iterate_phdr(VisitObject, &objects);
  return objects;
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace vigil::rules
