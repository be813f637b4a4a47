#include "../cmocka_prelude.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "engine/events.h"

static struct event *
container_event(const char *action, const char *id, const char *name)
{
    struct event *ev = event_new("container", action, id);
    event_add_attr(ev, "name", name);
    event_add_attr(ev, "image", "busybox:latest");
    event_add_attr(ev, "com.example", "yes");
    return ev;
}

static bool
fd_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

static void
test_live_subscriber_gets_events_in_order(void **state)
{
    (void)state;
    struct events *bus = events_new(8);
    events_publish(bus, container_event("create", "aaa", "one")); /* before: not seen */
    struct events_sub *sub = events_subscribe(bus, -1);
    assert_int_equal(events_subscriber_count(bus), 1);
    assert_null(events_sub_next(sub));
    assert_false(fd_readable(events_sub_fd(sub), 0));
    events_publish(bus, container_event("start", "aaa", "one"));
    events_publish(bus, container_event("die", "aaa", "one"));
    assert_true(fd_readable(events_sub_fd(sub), 0));
    struct event *ev = events_sub_next(sub);
    assert_string_equal(ev->action, "start");
    assert_true(ev->time_ns > 0);
    event_unref(ev);
    ev = events_sub_next(sub);
    assert_string_equal(ev->action, "die");
    event_unref(ev);
    assert_null(events_sub_next(sub));
    events_unsubscribe(sub);
    assert_int_equal(events_subscriber_count(bus), 0);
    events_free(bus);
}

static void
test_since_replays_kept_events(void **state)
{
    (void)state;
    struct events *bus = events_new(4);
    events_publish(bus, container_event("create", "a", "n"));
    int64_t mid = time_now_ns();
    for (int i = 0; i < 5; i++)
        events_publish(bus, container_event("start", "b", "n"));
    /* since 0: only the 4 kept are replayed (ring), all "start" */
    struct events_sub *sub = events_subscribe(bus, 0);
    int n = 0;
    struct event *ev;
    while ((ev = events_sub_next(sub)) != NULL) {
        assert_string_equal(ev->action, "start");
        assert_true(ev->time_ns >= mid);
        event_unref(ev);
        n++;
    }
    assert_int_equal(n, 4);
    events_unsubscribe(sub);
    /* since in the future: nothing old */
    sub = events_subscribe(bus, time_now_ns() + 1000000000LL);
    assert_null(events_sub_next(sub));
    events_unsubscribe(sub);
    events_free(bus);
}

static void
test_slow_subscriber_skips_to_oldest(void **state)
{
    (void)state;
    struct events *bus = events_new(3);
    struct events_sub *sub = events_subscribe(bus, -1);
    const char *actions[] = {"a1", "a2", "a3", "a4", "a5"};
    for (int i = 0; i < 5; i++)
        events_publish(bus, event_new("volume", actions[i], "v"));
    struct event *ev = events_sub_next(sub);
    assert_string_equal(ev->action, "a3");
    event_unref(ev);
    events_unsubscribe(sub);
    events_free(bus);
}

static void
test_close_wakes_and_ends(void **state)
{
    (void)state;
    struct events *bus = events_new(4);
    struct events_sub *sub = events_subscribe(bus, -1);
    assert_false(events_sub_closed(sub));
    events_close(bus);
    assert_true(fd_readable(events_sub_fd(sub), 0));
    assert_true(events_sub_closed(sub));
    events_publish(bus, event_new("volume", "create", "v")); /* dropped after close */
    assert_null(events_sub_next(sub));
    events_unsubscribe(sub);
    events_free(bus);
}

static void
test_event_survives_ring_while_referenced(void **state)
{
    (void)state;
    struct events *bus = events_new(1);
    struct events_sub *sub = events_subscribe(bus, -1);
    events_publish(bus, event_new("volume", "first", "v"));
    struct event *held = events_sub_next(sub);
    events_publish(bus, event_new("volume", "second", "v")); /* evicts "first" from the ring */
    assert_string_equal(held->action, "first");
    event_unref(held);
    events_unsubscribe(sub);
    events_free(bus);
}

static void
test_filter_semantics(void **state)
{
    (void)state;
    struct event *ev = container_event("health_status: healthy", "abcdef", "web");
    struct filters *f = filters_new();
    assert_true(event_matches(ev, f));
    filters_add(f, "type", "container");
    filters_add(f, "event", "health_status");
    assert_true(event_matches(ev, f));
    filters_add(f, "container", "web");
    assert_true(event_matches(ev, f));
    filters_free(f);

    f = filters_new();
    filters_add(f, "container", "abc"); /* ID prefix */
    filters_add(f, "image", "busybox"); /* tag-less image name */
    filters_add(f, "label", "com.example=yes");
    assert_true(event_matches(ev, f));
    filters_add(f, "type", "image"); /* different keys are ANDed */
    assert_false(event_matches(ev, f));
    filters_free(f);

    f = filters_new();
    filters_add(f, "event", "die");
    filters_add(f, "event", "health_status: healthy"); /* values of one key are ORed */
    assert_true(event_matches(ev, f));
    filters_free(f);

    f = filters_new();
    filters_add(f, "network", "abc"); /* a network filter never matches a container event */
    assert_false(event_matches(ev, f));
    filters_free(f);
    event_unref(ev);
}

struct publisher_arg {
    struct events *bus;
    int count;
};

static void *
publisher(void *p)
{
    struct publisher_arg *a = p;
    for (int i = 0; i < a->count; i++)
        events_publish(a->bus, event_new("volume", "create", "v"));
    return NULL;
}

static void
test_concurrent_publishers_lose_nothing_within_ring(void **state)
{
    (void)state;
    struct events *bus = events_new(4096);
    struct events_sub *sub = events_subscribe(bus, -1);
    pthread_t t[4];
    struct publisher_arg a = {bus, 500};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, publisher, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int n = 0;
    uint64_t last = 0;
    struct event *ev;
    while ((ev = events_sub_next(sub)) != NULL) {
        assert_true(ev->seq > last);
        last = ev->seq;
        event_unref(ev);
        n++;
    }
    assert_int_equal(n, 2000);
    events_unsubscribe(sub);
    events_free(bus);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_subscriber_gets_events_in_order),
        cmocka_unit_test(test_since_replays_kept_events),
        cmocka_unit_test(test_slow_subscriber_skips_to_oldest),
        cmocka_unit_test(test_close_wakes_and_ends),
        cmocka_unit_test(test_event_survives_ring_while_referenced),
        cmocka_unit_test(test_filter_semantics),
        cmocka_unit_test(test_concurrent_publishers_lose_nothing_within_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
