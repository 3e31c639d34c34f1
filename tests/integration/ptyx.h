/*
 * ptyx: runs the real `chat` binary for the CLI integration tests, either
 * under a pseudo-terminal (forkpty: interactive mode with its line editor,
 * or `chat tail`) so a test can type into it and wait for what it prints,
 * or as a plain child with pipes (ptyx_run) to check output and exit codes.
 *
 * Matching works on a cleaned copy of the output: terminal escape
 * sequences, carriage returns, bells and backspaces removed, so a test
 * looks for "[Team] bob: hi" whatever the line editor drew around it.
 * ptyx_expect searches from a cursor that moves past each match, so a
 * sequence of expects also checks order; ptyx_count counts over all the
 * output (for "shown exactly once").
 *
 * Environment: CHAT_BIN (default: the `chat` next to CHATD_BIN, else
 * "build/chat"). Children get NO_COLOR=1,
 * TERM=xterm and LC_ALL=C.UTF-8 unless the test's env list overrides them ("NAME=" with
 * an empty value unsets), and die with the test process (PDEATHSIG).
 *
 * Memory: a ptyx is freed by ptyx_free (which kills the child if it still
 * runs); strings returned by ptyx_run are harness-owned (harness.h).
 */
#ifndef CHATD_IT_PTYX_H
#define CHATD_IT_PTYX_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ptyx {
    pid_t pid;  /* 0 once reaped */
    int fd;     /* pty master; -1 once closed */
    int status; /* exit code once reaped; -1 if killed by a signal */
    char *raw;  /* everything the child wrote, NUL-terminated */
    size_t raw_len, raw_cap;
    char *clean; /* raw without escape sequences, \r, BEL, BS */
    size_t clean_len, clean_cap;
    size_t mark;   /* ptyx_expect searches clean from here */
    int esc_state; /* cleaner state across reads */
    char label[48];
} ptyx;

/* Starts CHAT_BIN with args (NULL-terminated, without argv[0]) under a
 * pty; env: NULL-terminated "NAME=value" list applied on top of ours. */
ptyx *ptyx_spawn(const char *label, const char *const *args, const char *const *env);
/* Writes s to the terminal (as if typed). */
void ptyx_send(ptyx *p, const char *s);
/* Types line and Enter. */
void ptyx_line(ptyx *p, const char *line);
/* Reads whatever arrives within ms. */
void ptyx_pump(ptyx *p, int ms);
/* Waits up to timeout_ms for needle in the clean output after the
 * cursor; on success moves the cursor past it and returns 1, else 0. */
int ptyx_wait_for(ptyx *p, const char *needle, int timeout_ms);
/* Same, but fails the test (printing the output) on timeout. */
void ptyx_expect(ptyx *p, const char *needle, int timeout_ms);
/* ptyx_expect, then returns the message handle the `chat` client printed
 * right before needle ("#12 [Team] bob: hi": needle "[Team] bob: hi"
 * gives 12); fails the test when there is none. */
int ptyx_expect_handle(ptyx *p, const char *needle, int timeout_ms);
/* Occurrences of needle in all of the clean output. */
int ptyx_count(const ptyx *p, const char *needle);
/* Waits for the child to exit; returns its exit code, or fails. */
int ptyx_wait_exit(ptyx *p, int timeout_ms);
/* Prints the clean output to stderr (for failure reports). */
void ptyx_dump(const ptyx *p);
/* SIGTERM, then SIGKILL after 2 s; frees. NULL ok. */
void ptyx_free(ptyx *p);

/* Runs CHAT_BIN with args and env (as above) with stdin from `input`
 * (NULL = empty) and waits (max timeout_ms, then kills and fails).
 * Returns the exit code; *out / *err (if not NULL) get stdout / stderr. */
int ptyx_run(const char *const *args, const char *const *env, const char *input, int timeout_ms,
             const char **out, const char **err);

#endif
