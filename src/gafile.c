/* google-authenticator files; the rules are numbered in gafile.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gafile.h"
#include "secret.h"
#include "totp.h"
#include "util.h"

#define WORD_MAX 24 /* longer than any number an option takes */

/* One line of the file without its end (LF or CRLF), and its number. */
typedef struct ga_line {
	const char *p;
	size_t n;
	unsigned no;
} ga_line;

typedef struct parser {
	const su_log *log;
	const char *path;
	su_ga_file *f;
} parser;

/* An option's value check: false with the reason in why. v and n: what
 * follows the name on its line. */
typedef bool (*value_check)(su_ga_file *f, const char *v, size_t n, char *why,
			    size_t size);

static int bad(const parser *ps, unsigned no, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Rule 4: the file and the line, never the line's content. */
static int bad(const parser *ps, unsigned no, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	su_logf(ps->log, LOG_ERR, "%s:%u: %s", ps->path, no, reason);
	return -1;
}

/* ---- words and numbers of an option's value ----------------------------- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static void skip_blanks(const char **v, size_t *n)
{
	while (*n > 0 && blank(**v)) {
		(*v)++;
		(*n)--;
	}
}

static bool at_end(const char *v, size_t n)
{
	skip_blanks(&v, &n);
	return n == 0;
}

/* The next blank-separated word into word: its length, 0 at the end, -1
 * when it is longer than WORD_MAX (no number an option takes is). */
static int next_word(const char **v, size_t *n, char word[WORD_MAX + 1])
{
	size_t len = 0;

	skip_blanks(v, n);
	while (*n > 0 && !blank(**v)) {
		if (len == WORD_MAX)
			return -1;
		word[len++] = **v;
		(*v)++;
		(*n)--;
	}
	word[len] = '\0';
	return (int)len;
}

/* The next word as a number in [min, max]. */
static bool next_number(const char **v, size_t *n, uint64_t min, uint64_t max,
			uint64_t *out)
{
	char word[WORD_MAX + 1];

	return next_word(v, n, word) > 0 && su_parse_u64(word, min, max, out);
}

/* ---- the options (rule 3) ------------------------------------------------ */

static bool no_value(su_ga_file *f, const char *v, size_t n, char *why, size_t size)
{
	(void)f;
	return at_end(v, n) || su_why(why, size, "takes no value");
}

/* HOTP_COUNTER (the file is refused whatever it says) and
 * RESETTING_TIME_SKEW (google-authenticator's own bookkeeping). */
static bool any_value(su_ga_file *f, const char *v, size_t n, char *why, size_t size)
{
	(void)f;
	(void)v;
	(void)n;
	(void)why;
	(void)size;
	return true;
}

static bool one_number(const char *v, size_t n, unsigned min, unsigned max,
		       unsigned *out, char *why, size_t size)
{
	uint64_t x;

	if (!next_number(&v, &n, min, max, &x) || !at_end(v, n))
		return su_why(why, size, "not a number from %u to %u", min, max);
	*out = (unsigned)x;
	return true;
}

static bool step_size(su_ga_file *f, const char *v, size_t n, char *why, size_t size)
{
	return one_number(v, n, 1, 60, &f->step_size, why, size);
}

static bool window_size(su_ga_file *f, const char *v, size_t n, char *why, size_t size)
{
	return one_number(v, n, 1, 100, &f->window_size, why, size);
}

/* RATE_LIMIT ATTEMPTS SECONDS [STAMP...]: the stamps are its module's
 * bookkeeping, checked as numbers only. */
static bool rate_limit(su_ga_file *f, const char *v, size_t n, char *why, size_t size)
{
	uint64_t attempts, seconds, stamp;

	if (!next_number(&v, &n, 1, 100, &attempts) || !next_number(&v, &n, 1, 3600, &seconds))
		return su_why(why, size, "not ATTEMPTS (1 to 100) and SECONDS (1 to 3600)");
	while (!at_end(v, n))
		if (!next_number(&v, &n, 0, UINT32_MAX, &stamp))
			return su_why(why, size, "a time stamp that is not a number");
	f->rate_attempts = (unsigned)attempts;
	f->rate_seconds = (unsigned)seconds;
	return true;
}

/* DISALLOW_REUSE [STEP...]: the time steps (time / STEP_SIZE, skew
 * included) of the codes accepted lately. */
static bool disallow_reuse(su_ga_file *f, const char *v, size_t n, char *why, size_t size)
{
	uint64_t step;

	while (!at_end(v, n)) {
		if (!next_number(&v, &n, 0, INT32_MAX, &step))
			return su_why(why, size, "a time step that is not a number");
		f->used_steps++;
		if (step > f->last_used_step)
			f->last_used_step = step;
	}
	return true;
}

static bool time_skew(su_ga_file *f, const char *v, size_t n, char *why, size_t size)
{
	char word[WORD_MAX + 1];
	bool minus;
	uint64_t x;

	if (next_word(&v, &n, word) <= 0 || !at_end(v, n))
		return su_why(why, size, "not a number of steps");
	minus = word[0] == '-';
	if (!su_parse_u64(minus ? word + 1 : word, 0, INT32_MAX, &x))
		return su_why(why, size, "not a number of steps");
	f->time_skew = minus ? -(long)x : (long)x;
	return true;
}

static const struct {
	const char *name;
	value_check check;
} options[SU_GA_OPTIONS] = {
	[SU_GA_TOTP_AUTH] = {"TOTP_AUTH", no_value},
	[SU_GA_HOTP_COUNTER] = {"HOTP_COUNTER", any_value},
	[SU_GA_STEP_SIZE] = {"STEP_SIZE", step_size},
	[SU_GA_WINDOW_SIZE] = {"WINDOW_SIZE", window_size},
	[SU_GA_DISALLOW_REUSE] = {"DISALLOW_REUSE", disallow_reuse},
	[SU_GA_RATE_LIMIT] = {"RATE_LIMIT", rate_limit},
	[SU_GA_TIME_SKEW] = {"TIME_SKEW", time_skew},
	[SU_GA_RESETTING_TIME_SKEW] = {"RESETTING_TIME_SKEW", any_value},
};

const char *su_ga_option_name(enum su_ga_option option)
{
	return option < SU_GA_OPTIONS ? options[option].name : "?";
}

/* ---- lines --------------------------------------------------------------- */

/* How many of the n bytes at p, from the start, are in set (p need not
 * end in a NUL: the text is the caller's bytes). */
static size_t span(const char *p, size_t n, const char *set)
{
	size_t i = 0;

	while (i < n && p[i] != '\0' && strchr(set, p[i]) != NULL)
		i++;
	return i;
}

static bool base32_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

/* Rule 1. The copy made for the decoder is wiped. */
static int parse_secret(parser *ps, const ga_line *l)
{
	su_ga_file *f = ps->f;
	char *copy;
	int rc;

	if (l->n == 0 || l->p[0] == '"')
		return bad(ps, l->no, "no secret: the first line must be the base32 secret");
	for (size_t i = 0; i < l->n; i++)
		if (!base32_char(l->p[i]))
			return bad(ps, l->no, "the secret is not base32 (A-Z, 2-7)");
	copy = malloc(l->n + 1);
	if (copy == NULL)
		return bad(ps, l->no, "out of memory");
	memcpy(copy, l->p, l->n);
	copy[l->n] = '\0';
	rc = su_base32_decode(copy, &f->key, &f->key_len);
	su_free_secret(copy, l->n + 1);
	if (rc != 0)
		return bad(ps, l->no, "the secret is not base32 (A-Z, 2-7)");
	if (f->key_len < SU_TOTP_MIN_SECRET_BYTES || f->key_len > SU_TOTP_MAX_SECRET_BYTES)
		return bad(ps, l->no, "the secret is %zu bytes; pam_stepup takes %d to %d",
			   f->key_len, SU_TOTP_MIN_SECRET_BYTES, SU_TOTP_MAX_SECRET_BYTES);
	return 0;
}

/* Rule 5. */
static int parse_code(parser *ps, const ga_line *l)
{
	su_ga_file *f = ps->f;

	if (l->n != SU_GA_CODE_DIGITS || l->p[0] == '0' ||
	    span(l->p, l->n, "0123456789") != SU_GA_CODE_DIGITS)
		return bad(ps, l->no, "not a scratch code (8 digits, the first not 0)");
	for (unsigned i = 0; i < f->code_count; i++) {
		if (su_equal(f->codes[i], l->p, SU_GA_CODE_DIGITS)) {
			f->code_repeats++;
			return 0;
		}
	}
	if (f->code_count == SU_GA_CODES_MAX)
		return bad(ps, l->no, "more than %d scratch codes; pam_stepup keeps at most %d",
			   SU_GA_CODES_MAX, SU_GA_CODES_MAX);
	memcpy(f->codes[f->code_count], l->p, SU_GA_CODE_DIGITS);
	f->codes[f->code_count][SU_GA_CODE_DIGITS] = '\0';
	f->code_count++;
	return 0;
}

/* FILEFORMAT's shape of an option name: upper case, digits and '_', with
 * an '_'. A base32 secret and a scratch code have no '_'. */
static bool showable_name(const char *name, size_t len)
{
	return len > 0 && len <= SU_GA_NAME_MAX &&
	       span(name, len, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len &&
	       memchr(name, '_', len) != NULL;
}

/* Rule 3: listed for the report, not refused. */
static void unknown_option(su_ga_file *f, const ga_line *l, const char *name, size_t len)
{
	su_ga_unknown *u;

	if (f->unknown_count++ >= SU_GA_UNKNOWN_MAX)
		return;
	u = &f->unknown[f->unknown_count - 1];
	u->line = l->no;
	if (showable_name(name, len)) {
		memcpy(u->name, name, len);
		u->name[len] = '\0';
	}
}

/* `" NAME [VALUE...]` */
static int parse_option(parser *ps, const ga_line *l)
{
	su_ga_file *f = ps->f;
	const char *name = l->p + 2;
	size_t rest = l->n - 2, len = 0;
	char why[160] = "";

	while (len < rest && !blank(name[len]))
		len++;
	if (len == 0)
		return bad(ps, l->no, "an option line without a name");
	for (int o = 0; o < SU_GA_OPTIONS; o++) {
		if (strlen(options[o].name) != len || memcmp(options[o].name, name, len) != 0)
			continue;
		if (f->line[o] != 0)
			return bad(ps, l->no, "%s given twice (first on line %u)",
				   options[o].name, f->line[o]);
		f->line[o] = l->no;
		if (!options[o].check(f, name + len, rest - len, why, sizeof(why)))
			return bad(ps, l->no, "%s: %s", options[o].name, why);
		return 0;
	}
	unknown_option(f, l, name, len);
	return 0;
}

static bool blank_line(const ga_line *l)
{
	return at_end(l->p, l->n);
}

/* Rules 2 and 4: every line after the first. */
static int parse_line(parser *ps, const ga_line *l)
{
	if (blank_line(l))
		return 0;
	if (l->n >= 2 && l->p[0] == '"' && l->p[1] == ' ')
		return parse_option(ps, l);
	if (l->p[0] >= '0' && l->p[0] <= '9')
		return parse_code(ps, l);
	return bad(ps, l->no, "not an option (\" NAME), a scratch code (8 digits) "
		   "or a blank line");
}

/* The line starting at *pos, which moves on to the next one. */
static void take_line(const char *text, size_t len, size_t *pos, ga_line *l)
{
	const char *start = text + *pos;
	const char *lf = memchr(start, '\n', len - *pos);
	size_t n = lf != NULL ? (size_t)(lf - start) : len - *pos;

	*pos += n + (lf != NULL ? 1 : 0);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	l->p = start;
	l->n = n;
	l->no++;
}

/* The number of the line a NUL byte is on. */
static unsigned line_of(const char *text, const char *at)
{
	unsigned no = 1;

	for (const char *p = text; p < at; p++)
		no += *p == '\n';
	return no;
}

int su_ga_parse(const su_log *log, const char *path, const char *text, size_t len,
		su_ga_file *out)
{
	parser ps = {log, path, out};
	const char *nul = memchr(text, '\0', len);
	ga_line l = {0};
	size_t pos = 0;
	int rc = 0;

	*out = (su_ga_file){.step_size = SU_GA_STEP_DEFAULT,
			    .window_size = SU_GA_WINDOW_DEFAULT};
	if (nul != NULL)
		rc = bad(&ps, line_of(text, nul), "a NUL byte");
	while (rc == 0 && pos < len) {
		take_line(text, len, &pos, &l);
		rc = l.no == 1 ? parse_secret(&ps, &l) : parse_line(&ps, &l);
	}
	if (rc == 0 && out->key == NULL)
		rc = bad(&ps, 1, "no secret: the file is empty");
	if (rc != 0)
		su_ga_clear(out);
	return rc;
}

enum su_ga_mode su_ga_mode(const su_ga_file *f)
{
	if (f->line[SU_GA_HOTP_COUNTER] != 0)
		return SU_GA_HOTP;
	return f->line[SU_GA_TOTP_AUTH] != 0 ? SU_GA_TOTP : SU_GA_NO_MODE;
}

void su_ga_clear(su_ga_file *f)
{
	if (f == NULL)
		return;
	su_free_secret(f->key, f->key_len);
	su_erase(f, sizeof(*f));
}
