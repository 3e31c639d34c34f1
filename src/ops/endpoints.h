/*
 * endpoints: the HTTP answers operators' tools read — GET /health
 * (liveness: the process answers), GET /metrics (Prometheus text) — served
 * by the public API (src/api) and by the admin listener (admin.h) alike.
 * /ready lives in ready.h. Every answer is counted in
 * chatd_http_responses_total like the API's.
 */
#ifndef CHATD_OPS_ENDPOINTS_H
#define CHATD_OPS_ENDPOINTS_H

#include <jansson.h>
#include <stdint.h>

#include "net/conn.h"

/* {"status":"ok","service":"chatd","role":...,"uptime_s":...}, 200. */
void ops_health(conn *c, const char *role, uint64_t started_ms);
/* Every metric, 200. */
void ops_metrics(conn *c);
/* Sends body (takes the reference) as a JSON answer with status. */
void ops_respond_json(conn *c, int status, json_t *body);

#endif
