#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include "guard.h"

/* The process-wide part: RLIMIT_FSIZE, lifted while any thread holds. */
static struct {
	pthread_mutex_t lock;
	unsigned holders;
	struct rlimit caller;
} fsize = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The per-thread part: the caller's signal mask, saved by the outermost
 * hold of this thread. */
static _Thread_local struct {
	unsigned depth;
	sigset_t caller;
} mask;

static int lift_fsize(const su_log *log)
{
	const struct rlimit none = { RLIM_INFINITY, RLIM_INFINITY };
	int rc = 0;

	pthread_mutex_lock(&fsize.lock);
	if (fsize.holders == 0) {
		if (getrlimit(RLIMIT_FSIZE, &fsize.caller) != 0)
			rc = su_fail(log, "cannot read the file size limit: %m");
		/* Raising the hard limit needs CAP_SYS_RESOURCE, which a
		 * setuid-root process has unless a container's bounding set
		 * took it away; then the soft limit goes up to the hard one,
		 * and a hard limit too low for our files refuses every
		 * attempt before anything is judged. */
		else if (setrlimit(RLIMIT_FSIZE, &none) != 0 &&
			 (fsize.caller.rlim_max < SU_GUARD_FSIZE_MIN ||
			  setrlimit(RLIMIT_FSIZE, &(struct rlimit){ fsize.caller.rlim_max,
							   fsize.caller.rlim_max }) != 0))
			rc = su_fail(log, "refusing to write state under a file size limit of "
				     "%llu bytes (it cannot be lifted: %m)",
				     (unsigned long long)fsize.caller.rlim_max);
	}
	if (rc == 0)
		fsize.holders++;
	pthread_mutex_unlock(&fsize.lock);
	return rc;
}

static void restore_fsize(void)
{
	pthread_mutex_lock(&fsize.lock);
	if (fsize.holders > 0 && --fsize.holders == 0)
		(void)setrlimit(RLIMIT_FSIZE, &fsize.caller); /* lowering: allowed */
	pthread_mutex_unlock(&fsize.lock);
}

/* Every signal but those a fault raises synchronously (blocking those
 * turns a crash into an undefined state); SIGKILL and SIGSTOP cannot be
 * held by anyone, which is why a write is made safe against them by its
 * shape and order (statefile.c), not by this. */
static void held_signals(sigset_t *set)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS };

	sigfillset(set);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(set, faults[i]);
}

int su_guard_hold(const su_log *log)
{
	sigset_t all;

	if (mask.depth == 0) {
		held_signals(&all);
		if (pthread_sigmask(SIG_BLOCK, &all, &mask.caller) != 0)
			return su_fail(log, "cannot hold signals for a state write");
	}
	if (lift_fsize(log) != 0) {
		if (mask.depth == 0)
			pthread_sigmask(SIG_SETMASK, &mask.caller, NULL);
		return -1;
	}
	mask.depth++;
	return 0;
}

void su_guard_release(void)
{
	if (mask.depth == 0)
		return;
	restore_fsize();
	if (--mask.depth == 0)
		pthread_sigmask(SIG_SETMASK, &mask.caller, NULL);
}
