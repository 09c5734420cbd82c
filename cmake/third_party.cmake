# Static third-party C libraries built from the pinned sources in third_party/
# (fetched by scripts/fetch-deps.sh, never committed).

add_library(el_sqlite3 STATIC ${TP}/sqlite3/sqlite3.c)
target_include_directories(el_sqlite3 SYSTEM PUBLIC ${TP}/sqlite3)
target_compile_definitions(el_sqlite3 PRIVATE
  SQLITE_THREADSAFE=0
  SQLITE_DEFAULT_MEMSTATUS=0
  SQLITE_OMIT_DEPRECATED
  SQLITE_OMIT_LOAD_EXTENSION
  SQLITE_OMIT_SHARED_CACHE
  SQLITE_DQS=0
  SQLITE_LIKE_DOESNT_MATCH_BLOBS
  SQLITE_DEFAULT_FOREIGN_KEYS=0
  SQLITE_ENABLE_MATH_FUNCTIONS)
if(EMSCRIPTEN)
  # The wasm/ build supplies sqlite3_os_init/sqlite3_os_end and its VFSes.
  target_compile_definitions(el_sqlite3 PRIVATE SQLITE_OS_OTHER=1)
endif()
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(el_sqlite3 PRIVATE -w)
endif()
set_target_properties(el_sqlite3 PROPERTIES POSITION_INDEPENDENT_CODE ON)

file(GLOB EL_ZSTD_SOURCES CONFIGURE_DEPENDS
  ${TP}/zstd/common/*.c ${TP}/zstd/compress/*.c ${TP}/zstd/decompress/*.c)
add_library(el_zstd STATIC ${EL_ZSTD_SOURCES})
target_include_directories(el_zstd SYSTEM PUBLIC ${TP}/zstd)
# No ZSTD_MULTITHREAD: single-threaded build (zstdmt falls back to serial).
target_compile_definitions(el_zstd PRIVATE ZSTD_DISABLE_ASM ZSTD_LEGACY_SUPPORT=0)
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(el_zstd PRIVATE -w)
endif()
set_target_properties(el_zstd PROPERTIES POSITION_INDEPENDENT_CODE ON)

if(EL_FUZZ)
  # The fuzz build (scripts/fuzz.sh) instruments our code, not SQLite/zstd.
  foreach(t el_sqlite3 el_zstd)
    target_compile_options(${t} PRIVATE -fno-sanitize=all -g0)
  endforeach()
endif()
