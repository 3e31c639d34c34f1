/*
 * render: everything the interactive `chat` client prints, in one place,
 * so that output looks consistent and never garbles the line being typed:
 * when the line editor is active, each print first clears the prompt line,
 * prints, then redraws the prompt with the partly typed text.
 *
 * Colour is used when stdout is a TTY and NO_COLOR is unset or empty
 * (https://no-color.org); each kind of line has its own colour, and
 * errors also carry an "error:" prefix so they stay distinct without it.
 * Text that came from the server has control characters replaced, so a
 * message cannot drive the user's terminal.
 *
 * Memory: no function keeps a pointer to its arguments.
 */
#ifndef CHAT_CLI_RENDER_H
#define CHAT_CLI_RENDER_H

/* color: 1 = on, 0 = off, -1 = decide from stdout/NO_COLOR. */
void render_init(int color);

/* Line editing: render_editor_on installs the readline callback handler
 * with prompt (the handler receives each typed line, malloc'd, or NULL on
 * EOF); render_editor_off removes it and restores the terminal. */
typedef void (*render_line_fn)(char *line);
void render_editor_on(const char *prompt, render_line_fn on_line);
void render_editor_off(void);
void render_set_prompt(const char *prompt);
/* Feeds the editor the bytes waiting on stdin. */
void render_editor_read(void);

/* "[chan] sender: text"; own = 1 for the user's own messages; hist = 1
 * for messages shown as history (dimmed). */
void render_msg(const char *chan, const char *sender, const char *text, int own, int hist);
/* "[chan] * text" for a system notice. */
void render_system(const char *chan, const char *text, int hist);
/* "[chan] seen by who" */
void render_receipt(const char *chan, const char *who);
/* "who is now status" */
void render_presence(const char *who, const char *status);
/* "error: ..." */
void render_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Neutral information. */
void render_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
