/*
 * chat: the command-line client of chatd. This file reads the command
 * line and the credentials, then hands over to app.h's event loop in one
 * of its modes (interactive, send, tail) or registers an account.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <fcntl.h>

#include <sodium.h>

#include "cli/app.h"
#include "core/alloc.h"
#include "cli/commands.h"
#include "cli/render.h"

static const char USAGE[] =
    "usage: chat [options]                      interactive client\n"
    "       chat [options] register             create the account, then exit\n"
    "       chat [options] send <channel> [text...]   send one message (no text or \"-\":\n"
    "                                           read it from stdin); exits once stored\n"
    "       chat [options] tail [-n N] <channel>   print the channel's messages as JSON\n"
    "                                           lines (one Message object per line) until\n"
    "                                           killed; -n N prints the last N first\n"
    "\n"
    "A channel is its id, a unique id prefix, its name, or @user for a direct channel.\n"
    "\n"
    "options:\n"
    "  --api URL            chatd's HTTP API (default http://127.0.0.1:8080, or $CHAT_API);\n"
    "                       https:// speaks TLS, and so do servers /auth marks \"tls\"\n"
    "  --ca-file F          trust the CA certificate(s) in F (PEM) for TLS, e.g. a\n"
    "                       self-signed test CA (default: the system's CAs)\n"
    "  -u, --user NAME      user name (else $TEST_USERNAME, else a prompt)\n"
    "  --password-file F    read the password from the first line of F\n"
    "                       (else $TEST_PASSWORD, else a prompt with echo off)\n"
    "  --timeout SEC        send: give up after SEC seconds (default 15)\n"
    "  --color, --no-color  force colour on/off (default: on when stdout is a terminal\n"
    "                       and $NO_COLOR is unset or empty)\n"
    "  -h, --help           this text\n"
    "\n"
    "The client reconnects by itself when the server goes away (backoff 100 ms\n"
    "doubling to 5 s, or $CHAT_RECONNECT_MAX_MS) and recovers the messages it missed.\n"
    "\n"
    "exit codes:\n"
    "  0  ok            1  usage error, or no way to read a credential\n"
    "  2  login refused (bad user/password, throttled, token rejected)\n"
    "  3  cannot connect / server unavailable / no acknowledgement in time\n"
    "  4  the server rejected the request (channel not found or ambiguous,\n"
    "     forbidden, invalid, user name taken)\n";

/* Reads one line from the terminal, echo off when secret. malloc'd or NULL. */
static char *prompt_tty(const char *prompt, int secret) {
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct termios old, quiet;
    int have_tio = tcgetattr(fd, &old) == 0;
    if (secret && have_tio) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) { /* nothing to do */
    }
    char buf[1024];
    size_t n = 0;
    char ch;
    while (n + 1 < sizeof buf && read(fd, &ch, 1) == 1 && ch != '\n')
        buf[n++] = ch;
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\r') buf[--n] = '\0';
    if (secret && have_tio) tcsetattr(fd, TCSAFLUSH, &old);
    close(fd);
    char *s = strdup(buf);
    sodium_memzero(buf, sizeof buf);
    return s;
}

static char *read_password_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

/* Reads all of stdin (send's text). malloc'd; one trailing newline dropped. */
static char *read_stdin_all(void) {
    size_t len = 0, cap = 4096;
    char *buf = xmalloc(cap);
    ssize_t n;
    while ((n = read(STDIN_FILENO, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    if (len > 0 && buf[len - 1] == '\n') len--;
    buf[len] = '\0';
    return buf;
}

static char *join_words(char **w, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(w[i]) + 1;
    char *s = xcalloc(1, len);
    for (int i = 0; i < n; i++) {
        if (i) strcat(s, " ");
        strcat(s, w[i]);
    }
    return s;
}

typedef struct opts {
    const char *api, *user, *password_file, *ca_file;
    int color, tail_n, timeout_s;
} opts;

/* Gets user and password (see USAGE). 0 or CLI_EUSAGE. *password is
 * malloc'd. */
static int credentials(const opts *o, int confirm, const char **user, char **password) {
    static char user_buf[64];
    *user = o->user ? o->user : getenv("TEST_USERNAME");
    if (!*user || !**user) {
        char *u = prompt_tty("Username: ", 0);
        if (!u || !*u) {
            free(u);
            fputs("chat: no user name (use --user or TEST_USERNAME)\n", stderr);
            return CLI_EUSAGE;
        }
        snprintf(user_buf, sizeof user_buf, "%s", u);
        free(u);
        *user = user_buf;
    }
    if (o->password_file) {
        *password = read_password_file(o->password_file);
        if (!*password) {
            fprintf(stderr, "chat: cannot read the password file %s\n", o->password_file);
            return CLI_EUSAGE;
        }
        return CLI_OK;
    }
    const char *env = getenv("TEST_PASSWORD");
    if (env && *env) {
        *password = strdup(env);
        return *password ? CLI_OK : CLI_EUSAGE;
    }
    *password = prompt_tty("Password: ", 1);
    if (!*password) {
        fputs("chat: no terminal to ask for the password (use --password-file)\n", stderr);
        return CLI_EUSAGE;
    }
    if (confirm) {
        char *again = prompt_tty("Password again: ", 1);
        int same = again && strcmp(again, *password) == 0;
        if (again) sodium_memzero(again, strlen(again));
        free(again);
        if (!same) {
            fputs("chat: the passwords differ\n", stderr);
            return CLI_EUSAGE;
        }
    }
    return CLI_OK;
}

static int usage_error(const char *msg) {
    fprintf(stderr, "chat: %s\n%s", msg, USAGE);
    return CLI_EUSAGE;
}

static const struct option longopts[] = {
    {"api", required_argument, NULL, 'a'},
    {"user", required_argument, NULL, 'u'},
    {"password-file", required_argument, NULL, 'p'},
    {"ca-file", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, 't'},
    {"color", no_argument, NULL, 'C'},
    {"no-color", no_argument, NULL, 'N'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parses options up to the first word that is not one ("+": no
 * permutation, so message text after the channel is never taken for an
 * option). Returns 0, 1 after printing --help, or -1 after a usage error. */
static int parse_opts(int argc, char **argv, opts *o) {
    int c;
    while ((c = getopt_long(argc, argv, "+u:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            o->api = optarg;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'p':
            o->password_file = optarg;
            break;
        case 'c':
            o->ca_file = optarg;
            break;
        case 't':
            o->timeout_s = atoi(optarg);
            break;
        case 'C':
            o->color = 1;
            break;
        case 'N':
            o->color = 0;
            break;
        case 'n':
            o->tail_n = atoi(optarg);
            break;
        case 'h':
            fputs(USAGE, stdout);
            return 1;
        default:
            fputs(USAGE, stderr);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    /* The terminal's character set, so the line editor takes UTF-8 input
     * (accents, emoji); numbers and messages stay in the C locale. */
    setlocale(LC_CTYPE, "");
    opts o = {.api = getenv("CHAT_API"), .color = -1, .timeout_s = 15};
    if (!o.api || !*o.api) o.api = "http://127.0.0.1:8080";
    /* Options may stand before the command word and after it
     * (`chat -u alice register` and `chat register -u alice` alike). */
    int rc = parse_opts(argc, argv, &o);
    const char *cmd = rc == 0 && optind < argc ? argv[optind++] : NULL;
    if (rc == 0 && cmd) rc = parse_opts(argc, argv, &o);
    if (rc != 0) return rc > 0 ? CLI_OK : CLI_EUSAGE;
    int rest = argc - optind;
    char **args = argv + optind;
    app_mode mode = APP_INTERACTIVE;
    if (!cmd) {
        mode = APP_INTERACTIVE;
    } else if (strcmp(cmd, "register") == 0) {
        if (rest) return usage_error("register takes no arguments");
    } else if (strcmp(cmd, "send") == 0) {
        if (rest < 1) return usage_error("send needs a channel");
        mode = APP_SEND;
    } else if (strcmp(cmd, "tail") == 0) {
        if (rest != 1 || o.tail_n < 0 || o.tail_n > 100)
            return usage_error("tail needs one channel (and -n between 0 and 100)");
        mode = APP_TAIL;
    } else {
        return usage_error("unknown command");
    }
    if (o.timeout_s <= 0) return usage_error("--timeout must be positive");
    if (sodium_init() < 0) return CLI_ECONNECT;

    const char *user = NULL;
    char *password = NULL;
    rc = credentials(
        &o, cmd && strcmp(cmd, "register") == 0 && !o.password_file && !getenv("TEST_PASSWORD"),
        &user, &password);
    if (rc != CLI_OK) return rc;

    cli_app a;
    cli_app_init(&a, mode);
    rc = cli_session_init(&a.ss, o.api, user, password, o.ca_file);
    sodium_memzero(password, strlen(password));
    free(password);
    if (rc != CLI_OK) {
        int bad_url = !a.ss.last_error[0];
        if (!bad_url) fprintf(stderr, "chat: %s\n", a.ss.last_error);
        cli_app_free(&a);
        return bad_url ? usage_error("--api must look like http[s]://host:port") : CLI_EUSAGE;
    }
    const char *max = getenv("CHAT_RECONNECT_MAX_MS");
    if (max && atoi(max) >= 100) a.ss.backoff_max_ms = atoi(max);

    char *text = NULL;
    if (cmd && strcmp(cmd, "register") == 0) {
        rc = cli_session_register(&a.ss);
        if (rc == CLI_OK)
            printf("registered %s\n", a.ss.user);
        else
            fprintf(stderr, "chat: %s\n", a.ss.last_error);
    } else {
        render_init(mode == APP_INTERACTIVE ? o.color : 0);
        a.target_ref = rest > 0 ? args[0] : NULL;
        a.tail_n = o.tail_n;
        if (mode == APP_SEND) {
            int from_stdin = rest == 1 || (rest == 2 && strcmp(args[1], "-") == 0);
            text = from_stdin ? read_stdin_all() : join_words(args + 1, rest - 1);
            a.send_text = text;
            a.deadline_ms = cli_session_now_ms() + (int64_t)o.timeout_s * 1000;
            if (!*text) {
                free(text);
                cli_app_free(&a);
                return usage_error("nothing to send");
            }
        }
        rc = cli_app_run(&a);
    }
    free(text);
    cli_app_free(&a);
    return rc;
}
