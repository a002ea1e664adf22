/* Test helper for tests/integration/crash.sh: hammers one user's files
 * through the store's write paths until killed.
 *
 *   state_writer CONFIG USER
 *
 * Each round takes the user's state lock, increments the state's counter
 * "n" (and rewrites a few other keys, so that the file changes size), and
 * commits; every fourth round it also replaces the user's record (a
 * secret file) with one whose "n" matches, as stepupctl does. After each
 * commit it prints the committed n on stdout, unbuffered: whatever was
 * printed must be in the file after a SIGKILL, since a commit returns only
 * after its write's fdatasync.
 *
 *   state_writer CONFIG USER --increments N
 *
 * For tests/integration/fleet.sh: N increments of "n", each in one state
 * transaction; a commit another writer beat (SU_CONFLICT, the directory
 * store) is tried again from a fresh read while the store allows. Prints
 * each value of n it committed ("n=V", unbuffered: what was printed was
 * acknowledged by the store), then "done COUNT"; exits 1 if an increment
 * could not be made, saying whether only the retries can have ended it.
 *
 *   state_writer CONFIG USER --hold
 *
 * For tests/integration/hostile.sh: takes the user's state lock, prints
 * "held" and stops itself (SIGSTOP, as a user can stop their own su while
 * it holds the lock); continued, it lets go and exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "config.h"
#include "kv.h"
#include "store.h"

static const su_log log_stderr = { .pamh = NULL, .prog = "state_writer", .debug = false };

static int one_round(su_store *store, const char *user, uint64_t *n)
{
	su_state_txn *txn = NULL;
	su_kv *state, record = { 0 };
	uint64_t cur = 0;
	char pad[64];
	int rc = -1;

	if (su_state_begin(store, user, &txn, &state) != SU_OK)
		goto out;
	if (su_kv_get_u64(&log_stderr, su_state_name(txn), state, "n", 0, UINT64_MAX - 1,
			  &cur) < 0)
		goto out;
	cur++;
	/* a size that changes from round to round */
	memset(pad, 'x', sizeof(pad) - 1);
	pad[cur % (sizeof(pad) - 1)] = '\0';
	if (su_kv_set_u64(state, "n", cur) != 0 || su_kv_set(state, "pad", pad) != 0 ||
	    su_kv_set_u64(state, "fail_count", cur % 7) != 0)
		goto out;
	if (cur % 4 == 0) {
		if (su_store_load_user(store, user, &record) != SU_OK ||
		    su_kv_set_u64(&record, "n", cur) != 0 ||
		    su_state_save_record(txn, &record) != SU_OK)
			goto out;
	}
	if (su_state_commit(txn) != SU_OK)
		goto out;
	*n = cur;
	rc = 0;
out:
	su_kv_free(&record);
	su_state_end(txn);
	return rc;
}

/* One increment of n; SU_OK (*now the value committed), SU_CONFLICT or
 * SU_ERR. */
static int increment(su_store *store, const char *user, uint64_t *now)
{
	su_state_txn *txn = NULL;
	su_kv *state;
	uint64_t cur = 0;
	int rc = su_state_begin(store, user, &txn, &state);

	if (rc == SU_OK)
		rc = su_kv_get_u64(&log_stderr, su_state_name(txn), state, "n", 0, UINT64_MAX - 1,
				   &cur) >= 0 && su_kv_set_u64(state, "n", cur + 1) == 0 ?
			     su_state_commit(txn) : SU_ERR;
	su_state_end(txn);
	*now = cur + 1;
	return rc;
}

/* Seconds since the first call. */
static double seconds_since_start(void)
{
	static struct timespec start;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (start.tv_sec == 0 && start.tv_nsec == 0)
		start = now;
	return (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
}

/* Why the store gave up a write another writer kept beating: its retries,
 * or the connection's time budget (ldap_timeout covers the connection's
 * whole life, all increments). Only a writer that has not yet lived that
 * long can be sure it was the retries. */
static const char *why_given_up(unsigned budget_s)
{
	return seconds_since_start() < budget_s ? "conflicts beyond ldap_retries"
						: "conflicts beyond ldap_retries or ldap_timeout spent";
}

static int increments(su_store *store, const char *user, unsigned long count, unsigned budget_s)
{
	unsigned long done = 0;

	seconds_since_start();

	while (done < count) {
		uint64_t now = 0;
		int rc = increment(store, user, &now);

		if (rc == SU_OK) {
			/* Let the others in, as hosts that write once per answer
			 * do: a writer that never pauses starves the ones whose
			 * retries pause (store_ldap.c). */
			struct timespec pause = {0, (long)(rand() % 3000) * 1000L};

			done++;
			printf("n=%llu\n", (unsigned long long)now);
			nanosleep(&pause, NULL);
		} else if (rc != SU_CONFLICT || !su_store_may_retry(store)) {
			fprintf(stderr, "state_writer: increment %lu: %s\n", done + 1,
				rc == SU_CONFLICT ? why_given_up(budget_s) : "failed");
			break;
		}
	}
	printf("done %lu\n", done);
	return done == count ? 0 : 1;
}

static int hold(su_store *store, const char *user)
{
	su_state_txn *txn = NULL;
	su_kv *state;

	if (su_state_begin(store, user, &txn, &state) != SU_OK)
		return 1;
	printf("held\n");
	raise(SIGSTOP);
	su_state_end(txn);
	return 0;
}

int main(int argc, char **argv)
{
	su_settings settings;
	su_store *store = NULL;
	uint64_t n = 0;

	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "--hold") == 0) &&
	    !(argc == 5 && strcmp(argv[3], "--increments") == 0)) {
		fprintf(stderr, "usage: state_writer CONFIG USER [--hold | --increments N]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	srand((unsigned)getpid());
	if (su_config_load(&log_stderr, argv[1], NULL, &settings) != SU_OK ||
	    su_store_open(&log_stderr, &settings, &store) != SU_OK)
		return 1;
	if (argc == 4)
		return hold(store, argv[2]);
	if (argc == 5)
		return increments(store, argv[2], strtoul(argv[4], NULL, 10),
				  settings.ldap_timeout);
	for (;;) {
		if (one_round(store, argv[2], &n) != 0)
			return 1;
		printf("%llu\n", (unsigned long long)n);
	}
}
