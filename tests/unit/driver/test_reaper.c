/* driver/reaper: orphans adopted as the child subreaper are reaped after the grace period;
 * registered pids and children that are still alive never are. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver/reaper.h"

#include "../cmocka_prelude.h"

/* Forks a child that forks a grandchild and exits: the grandchild (sleeping `ms`, then
 * exiting) is adopted by this process, the subreaper. Returns the grandchild's pid. */
static pid_t
make_orphan(int ms)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            _exit(0);
        }
        (void)!write(p[1], &grandchild, sizeof(grandchild));
        _exit(0);
    }
    pid_t orphan = -1;
    assert_int_equal(read(p[0], &orphan, sizeof(orphan)), sizeof(orphan));
    close(p[0]);
    close(p[1]);
    assert_int_equal(waitpid(child, NULL, 0), child);
    return orphan;
}

static bool
is_child(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void
orphans_are_reaped_after_the_grace(void **state)
{
    (void)state;
    pid_t orphan = make_orphan(0);
    sleep_ms(100); /* a zombie by now */
    assert_true(is_child(orphan));
    /* First seen now: within the grace, left to its owner. */
    assert_int_equal(reaper_scan(60000), 0);
    assert_true(is_child(orphan));
    /* Seen long enough (no grace): reaped. */
    assert_int_equal(reaper_scan(0), 1);
    assert_false(is_child(orphan));
    reaper_stop();
}

static void
registered_and_living_children_stay(void **state)
{
    (void)state;
    pid_t owned = make_orphan(0);
    pid_t alive = make_orphan(2000);
    reaper_own(owned);
    sleep_ms(100);
    assert_int_equal(reaper_scan(0), 0);
    assert_true(is_child(owned));
    /* Its owner reaps it, then disowns it. */
    assert_int_equal(waitpid(owned, NULL, 0), owned);
    reaper_disown(owned);
    kill(alive, SIGKILL);
    assert_int_equal(waitpid(alive, NULL, 0), alive);
    assert_int_equal(reaper_scan(0), 0);
    reaper_stop();
}

static void
the_thread_reaps(void **state)
{
    (void)state;
    assert_int_equal(reaper_start(NULL), 0);
    assert_int_equal(reaper_start(NULL), 0); /* idempotent */
    pid_t orphan = make_orphan(0);
    int waited = 0;
    while (is_child(orphan) && waited < (REAPER_GRACE_MS + 3 * REAPER_INTERVAL_MS)) {
        sleep_ms(100);
        waited += 100;
    }
    assert_false(is_child(orphan));
    reaper_stop();
}

int
main(void)
{
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orphans_are_reaped_after_the_grace),
        cmocka_unit_test(registered_and_living_children_stay),
        cmocka_unit_test(the_thread_reaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
