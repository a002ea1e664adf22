/* pam_loop: one PAM handle, many calls, driven line by line from stdin, so
 * that a test can change files between the calls of one process (what a
 * long-lived caller such as sshd's monitor or a screen locker sees).
 *
 *   pam_loop CONFDIR SERVICE USER
 *
 * Commands, one per line; each answers with one line on stdout:
 *   auth [ANSWER...]   pam_authenticate; the Nth prompt gets the Nth
 *                      ANSWER (none left: an empty answer).
 *                      -> "rc=N prompts=K"
 *   new-audit-session  write 0 to /proc/self/loginuid: the kernel gives this
 *                      process a new audit session id.
 *                      -> "ok" or "error: REASON"
 * The handle is made once (pam_start_confdir) and ended at end of input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <security/pam_appl.h>
#include "answers.h"

static void authenticate(pam_handle_t *pamh, struct answers *a, char *rest)
{
	struct pam_conv conv = { converse, a };
	char *save = NULL;
	int rc;

	a->count = a->next = a->prompts = 0;
	for (char *w = strtok_r(rest, " \t", &save); w != NULL && a->count < MAX_ANSWERS;
	     w = strtok_r(NULL, " \t", &save))
		a->word[a->count++] = w;
	rc = pam_set_item(pamh, PAM_CONV, &conv);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(pamh, 0);
	printf("rc=%d prompts=%d\n", rc, a->prompts);
}

static void new_audit_session(void)
{
	int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "0", 1) != 1) {
		printf("error: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	printf("ok\n");
}

int main(int argc, char **argv)
{
	struct answers a = {0};
	struct pam_conv conv = { converse, &a };
	pam_handle_t *pamh = NULL;
	char line[4096];
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: pam_loop CONFDIR SERVICE USER\n");
		return 2;
	}
	rc = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &pamh);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "pam_loop: pam_start_confdir: %s\n", pam_strerror(pamh, rc));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "auth", 4) == 0 && (line[4] == '\0' || line[4] == ' '))
			authenticate(pamh, &a, line + 4);
		else if (strcmp(line, "new-audit-session") == 0)
			new_audit_session();
		else
			printf("error: unknown command\n");
	}
	pam_end(pamh, PAM_SUCCESS);
	return 0;
}
