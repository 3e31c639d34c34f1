/* types: the presence status names (see types.h). */
#include "proto/types.h"

#include <string.h>

static const char *const status_names[PROTO_STATUS_COUNT] = {"online", "away", "busy", "offline"};

const char *proto_status_name(proto_status s) {
    return (unsigned)s < PROTO_STATUS_COUNT ? status_names[s] : "offline";
}

int proto_status_parse(const char *s, size_t len, proto_status *out) {
    for (int i = 0; i < PROTO_STATUS_COUNT; i++) {
        if (strlen(status_names[i]) == len && !memcmp(s, status_names[i], len)) {
            *out = (proto_status)i;
            return 0;
        }
    }
    return -1;
}
