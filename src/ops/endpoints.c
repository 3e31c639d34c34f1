/*
 * endpoints: /health and /metrics answers (see endpoints.h), in one place
 * so the public port and the admin port say exactly the same thing.
 */
#include "ops/endpoints.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/metrics.h"
#include "proto/encode.h"

void ops_respond_json(conn *c, int status, json_t *body) {
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s) abort();
    metrics_http(status);
    conn_http_respond(c, status, "application/json", s, strlen(s));
    free(s);
}

void ops_health(conn *c, const char *role, uint64_t started_ms) {
    ops_respond_json(c, 200,
                     json_pack("{s:s,s:s,s:s,s:I}", "status", "ok", "service", "chatd", "role",
                               role, "uptime_s",
                               (json_int_t)((clock_mono_ms() - started_ms) / 1000)));
}

void ops_metrics(conn *c) {
    size_t len = 0;
    char *text = metrics_render(&len);
    char extra[160];
    int n = snprintf(extra, sizeof(extra),
                     "# HELP chatd_json_encodes_total Server frames JSON-encoded.\n"
                     "# TYPE chatd_json_encodes_total counter\nchatd_json_encodes_total %llu\n",
                     (unsigned long long)enc_count());
    char *all = xmalloc(len + (size_t)n + 1);
    memcpy(all, text, len);
    memcpy(all + len, extra, (size_t)n);
    metrics_http(200);
    conn_http_respond(c, 200, "text/plain; version=0.0.4", all, len + (size_t)n);
    free(all);
    free(text);
}
