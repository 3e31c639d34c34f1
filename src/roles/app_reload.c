/*
 * app_reload: how the configuration reaches the running modules — once at
 * start (the open steps of app.c build their settings here) and again on
 * SIGHUP, when the options marked reloadable in core/config.c change in
 * place. Keeping both paths on the same builders means a reloaded value
 * means exactly what it would have meant at start.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "core/log.h"
#include "roles/app.h"

void app__domain_config(const app *a, domain_config *dcfg) {
    const chatd_config *cfg = a->cfg;
    domain_config_default(dcfg);
    dcfg->rate_per_sec = cfg->rate_per_sec;
    dcfg->rate_burst = cfg->rate_burst;
    dcfg->abuse_close_ms = cfg->abuse_close_ms;
    dcfg->presence_timeout_ms = cfg->presence_timeout_ms;
    dcfg->node_id = a->node_id;
    dcfg->limits.max_content = cfg->max_content;
    dcfg->max_channels_per_user = cfg->max_channels_per_user;
    dcfg->cache_ttl_ms = cfg->cache_ttl_ms;
    dcfg->big_channel = cfg->big_channel;
}

void app__api_config(const app *a, api_config *acfg) {
    const chatd_config *cfg = a->cfg;
    *acfg = (api_config){.keys = a->keys,
                         .token_ttl_s = cfg->token_ttl_s,
                         .role = a->role,
                         .web = {cfg->web_root, cfg->no_web}};
    password_params_default(&acfg->pw);
    acfg->max_hash_queue = cfg->max_hash_queue;
    acfg->register_per_sec = cfg->register_per_sec;
    acfg->auth_fail_per_addr = cfg->auth_fail_per_addr;
    acfg->trust_proxy = cfg->trust_proxy;
    if (cfg->argon2_min) {
        acfg->pw.opslimit = 1; /* crypto_pwhash_OPSLIMIT_MIN */
        acfg->pw.memlimit = 8192;
    }
}

void app__server_limits(const app *a, server_limits *lim) {
    const chatd_config *cfg = a->cfg;
    server_limits_default(lim);
    lim->max_message = cfg->max_frame;
    lim->max_queued = cfg->max_queued_bytes;
    if (lim->read_pause > lim->max_queued / 2) lim->read_pause = lim->max_queued / 2;
    lim->max_pending_per_addr = cfg->max_pending_per_addr;
    lim->handshake_ms = cfg->handshake_timeout_ms;
    lim->ping_ms = cfg->ping_interval_ms;
    lim->max_connections = cfg->max_connections;
    if (!lim->max_connections) { /* what the descriptors allow, less room for the engines */
        struct rlimit rl;
        lim->max_connections = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 200
                                   ? (size_t)rl.rlim_cur - 100
                                   : 1000;
        if (lim->max_connections > 1000000) lim->max_connections = 1000000;
    }
}

void app_apply_limits(app *a) {
    log_set_level(a->cfg->log_level);
    log_set_format(a->cfg->log_format);
    if (a->dom) {
        domain_config dcfg;
        app__domain_config(a, &dcfg);
        domain_set_limits(a->dom, &dcfg);
    }
    if (a->api) {
        api_config acfg;
        app__api_config(a, &acfg);
        api_set_limits(a->api, &acfg);
    }
    if (a->serving) /* the server reads its limits live: new values for every socket */
        app__server_limits(a, &a->srv.lim);
    /* max-conns-per-user and allowed-origins are read from a->cfg at each upgrade */
}

static void report_change(void *data, const char *name, const char *was, const char *now,
                          int applied) {
    if (applied)
        log_event(LOG_INFO, LOG_FIELDS(LOG_STR("option", name)), "reload: %s: %s -> %s", name, was,
                  now);
    else
        log_event(LOG_WARN, LOG_FIELDS(LOG_STR("option", name)),
                  "reload: %s: %s -> %s needs a restart; still %s", name, was, now, was);
}

/* Step 1 and 2: the configuration. */
static void reload_config(app *a) {
    chatd_config next;
    char err[1024] = "";
    if (config_reload(a->cfg, &next, err, sizeof(err)) != 0) {
        log_error("reload: %s; keeping the running configuration", err);
        config_free(&next);
        return;
    }
    /* a->cfg is main's, not const: its reloadable fields are ours to change */
    int restart = config_update((chatd_config *)a->cfg, &next, report_change, NULL);
    config_free(&next);
    app_apply_limits(a);
    if (restart) log_warn("reload: %d changed option(s) need a restart", restart);
}

/* Step 3: the JWT keys. */
static void reload_secrets(app *a) {
    if (!a->keys) return;
    char msg[1024] = "";
    if (keyring_reload(a->keys, msg, sizeof(msg)) != 0)
        log_error("reload: %s; keeping the JWT keys in force", msg);
    else
        log_info("reload: %s", msg);
}

/* Step 4: the TLS certificate and key, read again from the same files:
 * new handshakes use them, open connections keep theirs. */
static void reload_tls(app *a) {
    if (!a->tls) return;
    char err[512] = "";
    if (tls_ctx_reload(a->tls, a->cfg->tls_cert, a->cfg->tls_key, err, sizeof(err)) != 0)
        log_error("reload: %s; keeping the certificate in force", err);
    else
        log_info("reload: TLS certificate and key read again from %s", a->cfg->tls_cert);
}

void app_reload(app *a) {
    log_info("SIGHUP: reloading the configuration%s", a->cfg->config_file ? " file" : "");
    reload_config(a);
    reload_secrets(a);
    reload_tls(a);
    log_info("reload done");
}
