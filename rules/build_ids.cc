#include "rules/build_ids.h"

#include <elf.h>
#include <link.h>

#include <cstring>

namespace vigil::rules {

namespace {

using Fn = std::function<void(std::string_view, std::string_view)>;

// dl_iterate_phdr callback: reads the NT_GNU_BUILD_ID note of one object.
int VisitObject(struct dl_phdr_info* info, size_t, void* data) {
  const Fn& fn = *static_cast<const Fn*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const size_t align = ph.p_align == 8 ? 8 : 4;
    const auto pad = [align](size_t n) { return (n + align - 1) & ~(align - 1); };
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    size_t left = ph.p_memsz;
    while (left >= sizeof(ElfW(Nhdr))) {
      ElfW(Nhdr) note;
      std::memcpy(&note, p, sizeof(note));
      const size_t name_at = sizeof(note), desc_at = name_at + pad(note.n_namesz);
      const size_t total = desc_at + pad(note.n_descsz);
      if (total > left || desc_at + note.n_descsz > left) break;
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(p + name_at, "GNU", 4) == 0) {
        fn(info->dlpi_name ? std::string_view(info->dlpi_name) : std::string_view(),
           std::string_view(p + desc_at, note.n_descsz));
      }
      p += total;
      left -= total;
    }
  }
  return 0;
}

}  // namespace

void ForEachLoadedBuildId(const Fn& fn) { dl_iterate_phdr(VisitObject, const_cast<Fn*>(&fn)); }

}  // namespace vigil::rules
