/*
 * libFuzzer target for request_decode: arbitrary bytes on both endpoints,
 * with the default limits and with tiny ones (so the limit paths run too).
 * A successful decode is freed; an error must leave a NUL-terminated,
 * non-empty message and nothing to free.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/request.h"

static void one(const uint8_t *data, size_t size, proto_endpoint ep, const proto_limits *lim) {
    request r;
    proto_error e;
    if (request_decode((const char *)data, size, ep, lim, &r, &e) == 0) {
        request_free(&r);
        return;
    }
    if (r.root__ || e.message[0] == '\0' || memchr(e.message, '\0', sizeof e.message) == NULL ||
        memchr(e.request_type, '\0', sizeof e.request_type) == NULL ||
        (unsigned)e.code >= PROTO_CODE_COUNT)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    proto_limits def, tiny = {
                          .max_content = 8,
                          .max_name = 4,
                          .max_participants = 3,
                          .max_metadata = 16,
                          .max_client_msg_id = 4,
                          .max_subscribe = 2,
                          .max_depth = 3,
                      };
    proto_limits_default(&def);
    one(data, size, PROTO_EP_CHAT, &def);
    one(data, size, PROTO_EP_PRESENCE, &def);
    one(data, size, PROTO_EP_CHAT, &tiny);
    return 0;
}
