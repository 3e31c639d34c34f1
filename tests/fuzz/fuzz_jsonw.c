/*
 * libFuzzer target for proto/jsonw's string writer (every frame's text goes
 * through it): arbitrary bytes written as a JSON string must parse back as
 * the same bytes (or, when they are not UTF-8, with each byte >= 0x80 as
 * '?'): tests/jsonw_check.h.
 */
#include <stdint.h>
#include <stdlib.h>

#include "jsonw_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (jsonw_check_roundtrip((const char *)data, size) != 0) abort();
    return 0;
}
