/* driver/reaper: orphans adopted as the child subreaper are reaped after the grace period, the
 * runtime's strays at once; registered pids and children that are still alive never are. */
#include <errno.h>
#include <sched.h>
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
 * exiting) is adopted by this process, the subreaper. With name, the grandchild takes that name
 * (its comm); with new_pidns, it is pid 1 of a pid namespace of its own (as a runtime's child
 * that joined a container). Returns the grandchild's pid, -1 when the namespace is refused (not
 * root). */
static pid_t
spawn_orphan(int ms, const char *name, bool new_pidns)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pid_t grandchild = -1;
        if (!new_pidns || unshare(CLONE_NEWPID) == 0) {
            grandchild = fork();
            if (grandchild == 0) {
                if (name != NULL)
                    prctl(PR_SET_NAME, name);
                struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
                _exit(0);
            }
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

static pid_t
make_orphan(int ms)
{
    return spawn_orphan(ms, NULL, false);
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

static void
runtime_strays_are_reaped_at_once(void **state)
{
    (void)state;
    reaper_set_stray_name("sl-stray");
    pid_t stray = spawn_orphan(0, "sl-stray", true);
    if (stray < 0) {
        reaper_set_stray_name(NULL);
        skip(); /* no pid namespace without root */
    }
    pid_t other = spawn_orphan(0, "sl-other", true); /* another name */
    pid_t host = spawn_orphan(0, "sl-stray", false); /* the daemon's own namespace */
    sleep_ms(100);
    /* Within any grace: only the stray goes. */
    assert_int_equal(reaper_scan(60000), 1);
    assert_false(is_child(stray));
    assert_true(is_child(other));
    assert_true(is_child(host));
    reaper_set_stray_name(NULL);
    assert_int_equal(reaper_scan(0), 2);
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
        cmocka_unit_test(runtime_strays_are_reaped_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
