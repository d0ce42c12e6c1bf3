// jemalloc's options for the binaries that link it (CMake target
// vigil_malloc); jemalloc reads this symbol at start-up, and MALLOC_CONF in
// the environment still overrides it.
//
// oversize_threshold:0 — by default jemalloc 5.3 serves requests of 8 MiB
// or more from a dedicated arena that hands their pages back to the kernel
// as soon as they are freed. The store's per-group buffers (the staging
// arena and the write batch, ~2.5 kB per ad: ~20 MB for a group of 8,192
// ads) are that large, so every group paid again for page faults and for
// the kernel zeroing fresh pages. Served from the normal arenas, freed
// pages are reused for the next group. `vigil ingest` of 100,000 generated
// ads, same-run A/B alternated three times: system CPU 0.63-0.69 s ->
// 0.41-0.44 s, 45,275-49,062 -> 50,078-52,352 ads/s, peak RSS +25 MB
// (bench/RESULTS.md).
extern "C" {
const char* malloc_conf = "oversize_threshold:0";
}
