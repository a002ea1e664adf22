/* The conversation of the test helpers (pam_loop, pam_cycles): the Nth
 * prompt gets the Nth answer (none left: an empty one), messages get
 * none, and prompts are counted. Header only: each helper is one file. */
#ifndef SU_TEST_ANSWERS_H
#define SU_TEST_ANSWERS_H

#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>

#define MAX_ANSWERS 8

struct answers {
	char *word[MAX_ANSWERS];
	int count, next, prompts;
};

static int converse(int n, const struct pam_message **msg, struct pam_response **resp,
		    void *data)
{
	struct answers *a = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style;

		if (style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON)
			continue;
		a->prompts++;
		r[i].resp = strdup(a->next < a->count ? a->word[a->next++] : "");
		if (r[i].resp == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

#endif
