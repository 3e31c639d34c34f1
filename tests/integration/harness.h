/*
 * harness: what every integration test needs to drive a real `chatd`
 * process on loopback the way a client would: start/stop/kill/restart the
 * server in a private temp dir with a known JWT secret, HTTP helpers,
 * WebSocket connections with a small per-connection backlog (so a test can
 * wait for one frame type without losing the frames that arrived before
 * it), and JSON accessors that fail the current cmocka test with a useful
 * message.
 *
 * Memory: everything the harness hands out (names, tokens, received JSON,
 * servers) is owned by the harness and released by harness_cleanup(),
 * which runs at exit (and kills any server still running). Tests never
 * free what they get, except that they may stop a server early with
 * chatd_free(). WebSocket connections: tconn.h; chat fixtures: chatkit.h.
 *
 * Failures: helpers call cmocka's fail_msg()/assert_* and so end the
 * current test; they must only be called from inside a test (or a group
 * setup, where a failure aborts the group).
 *
 * Environment: CHATD_BIN (default "build/chatd"); CHATD_KEEP=1 keeps the
 * temp dirs (the server log is <dir>/chatd.log; a cluster's logs are
 * copied to <its dir>.logs) for post-mortems; CHATD_IT_CLUSTER=redis|kafka
 * runs the tests against a whole cluster (see chatd_start, hcluster.h).
 */
#ifndef CHATD_IT_HARNESS_H
#define CHATD_IT_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

#include "net/tls.h"

/* The exact bytes of <dir>/secrets/jwt_secret.txt (note the newline: it is
 * part of the key, PROTOCOL.md section 1). */
#define H_SECRET "integration-test-secret-0123456789\n"
#define H_SECRET_LEN (sizeof(H_SECRET) - 1)
#define H_PASSWORD "correct-horse-1"
#define H_TIMEOUT 3000 /* default wait for an expected frame, ms */

/* ---- TLS mode ---- */
/* With CHATD_IT_TLS=1: the client TLS context every connection of the
 * harness uses (servers then start with --tls-cert/--tls-key from a
 * throw-away CA); NULL otherwise (plain TCP). */
tls_ctx *harness_tls(void);
/* The directory holding ca.pem, server.pem and server.key, or NULL. */
const char *harness_tls_dir(void);

/* ---- server process ---- */
typedef struct chatd_srv {
    pid_t pid; /* 0 when not running */
    int port;
    char dir[256];            /* temp dir: secrets/, data/, port, chatd.log */
    char *args[40];           /* extra flags (owned copies), NULL-terminated */
    struct hcluster *cluster; /* cluster mode (hcluster.h): the whole cluster */
} chatd_srv;

/* Starts chatd with the harness defaults plus extra flags (NULL-terminated
 * list, or NULL) and waits (max 10 s) for its port file. Fails the test
 * (returns NULL in a setup) when it does not come up.
 * Cluster mode (CHATD_IT_CLUSTER=redis|kafka, see hcluster.h): starts a
 * whole cluster instead, every process with those flags, and waits until
 * it delivers; .port is then the API server's, WebSockets are spread over
 * the chat / presence servers, chatd_stop() stops the cluster, and the
 * single-process controls (term, wait, kill9, restart) fail the test. */
chatd_srv *chatd_start(const char *const *extra_args);
/* SIGTERM + waitpid (max 10 s); returns the exit status (or -1 when it
 * died by a signal or did not exit; it is then killed). */
int chatd_stop(chatd_srv *s);
/* Sends SIGTERM only (read the clients' close frames, then chatd_wait). */
void chatd_term(chatd_srv *s);
/* Waits up to timeout_ms for the process to exit; returns its exit status,
 * -1 when it died by a signal, or fails the test when it did not exit. */
int chatd_wait(chatd_srv *s, int timeout_ms);
/* SIGKILL + waitpid. */
void chatd_kill9(chatd_srv *s);
/* Starts again on the same data dir (new port); the server must be stopped. */
void chatd_restart(chatd_srv *s);
/* Stops (SIGKILL if still running) and removes the temp dir. NULL ok. */
void chatd_free(chatd_srv *s);
/* Prints the last bytes of the server log to stderr (for failure reports). */
void chatd_dump_log(const chatd_srv *s, size_t tail_bytes);
/* SIGHUP, then waits (max 5 s) for the server to log "reload done". */
void chatd_reload(chatd_srv *s);
/* How many lines of the server's log contain needle. */
int chatd_log_count(const chatd_srv *s, const char *needle);
/* 1 when port is where s serves WebSockets of this kind ("chat" or
 * "presence"): s->port, or one of the cluster's servers of that role. */
int chatd_serves(const chatd_srv *s, const char *kind, int port);
/* The port a WebSocket to path should dial (see cluster mode above). */
int chatd_ws_port(chatd_srv *s, const char *path);

/* ---- one server for a whole test file ---- */
/* cmocka group setup / teardown: H_SRV is one server with the harness
 * defaults, shared by every test of the group (users are new in each test).
 * Teardown fails the group when the server did not stop cleanly. */
extern chatd_srv *H_SRV;
int harness_group_setup(void **state);
int harness_group_teardown(void **state);

/* ---- names, tokens ---- */
/* A unique valid username: prefix + counter + pid (≤ 32 chars). */
const char *uniq_name(const char *prefix);
/* Registers a new unique user with H_PASSWORD (asserts 201); returns name. */
const char *new_user(chatd_srv *s, const char *prefix);
/* Forges a token with the known secret (iat = now + iat_offset_s). */
const char *forge_token(const char *username, int64_t iat_offset_s, int64_t ttl_s);
/* base64url without padding (harness-owned result). */
const char *b64url(const void *data, size_t len);

/* ---- HTTP ---- */
/* Sends a request; returns the HTTP status (fails the test on a network
 * error). *body_json (if not NULL) gets the parsed body or NULL. *raw (if
 * not NULL) gets the raw body. */
int http_call(chatd_srv *s, const char *method, const char *path, const char *body,
              json_t **body_json, const char **raw);
/* POST /register; returns the status. */
int register_user(chatd_srv *s, const char *name, const char *pw);
/* POST /auth with a correct password; asserts 200; returns the token. */
const char *auth(chatd_srv *s, const char *name, const char *pw);
/* The same, returning the whole answer (sessionToken, servers...). */
json_t *auth_response(chatd_srv *s, const char *name, const char *pw);
/* Writes raw bytes to a new TCP connection (send errors after the server
 * closed are ignored), reads until EOF/timeout; returns the status of the
 * response ("HTTP/1.1 NNN") or 0 when none arrived. */
int raw_http(chatd_srv *s, const void *data, size_t len, const char **response);
/* GET /metrics: value of the first sample line starting with `name ` (or
 * `name{`); -1 if absent. Cluster mode: the sum over every process that
 * has it. */
double metric_value(chatd_srv *s, const char *name);

/* ---- JSON accessors (fail the test when absent / wrong type) ---- */
const char *jstr(json_t *o, const char *key);
json_int_t jint(json_t *o, const char *key);
json_t *jobj(json_t *o, const char *key);
json_t *jarr(json_t *o, const char *key);
int jbool(json_t *o, const char *key);
/* Compact dump (harness-owned), for messages. */
const char *jdump(json_t *o);
/* Array of strings contains s. */
int jarr_has_str(json_t *arr, const char *s);
/* 1 when s looks like 2026-11-24T20:31:05.123Z */
int is_iso_ms(const char *s);
/* 1 when s is a canonical 8-4-4-4-12 hex UUID */
int is_uuid(const char *s);
/* 1 when s is a non-empty decimal string of a non-zero uint64 */
int is_decimal_id(const char *s);
/* Harness-owned printf. */
const char *hfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic ms clock; sleep ms. */
int64_t now_ms(void);
void sleep_ms(int ms);

/* Frees everything (also registered with atexit). */
void harness_cleanup(void);

/* ---- internals shared with tconn.c / chatkit.c ---- */
void harness__init(void);               /* SIGPIPE ignored, fd limit, atexit */
const char *harness__keep_str(char *s); /* takes ownership of a malloc'd string */
json_t *harness__keep_json(json_t *j);  /* takes ownership of one reference */
void harness__grow(void **arr, size_t *cap, size_t n, size_t elem); /* room for n+1 */

#endif
