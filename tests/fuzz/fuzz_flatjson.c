/*
 * libFuzzer target for proto/flatjson.c, the one-pass reader of the frames
 * clients send most: whatever it accepts, jansson must read as the same
 * object (tests/flatjson_check.h). Inputs that are not valid UTF-8 are
 * skipped: the WebSocket layer refuses them before any parser runs.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/utf8.h"
#include "flatjson_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!utf8_valid(data, size)) return 0;
    int accepted;
    if (flatjson_check((const char *)data, size, &accepted) != 0) abort();
    return 0;
}
