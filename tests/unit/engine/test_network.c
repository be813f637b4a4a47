/* Networks: IPAM, attachments and endpoints, through the engine with the synthetic driver. */
#include "../cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"
#include "engine/network.h"

#include "engine_fixture.h"

static struct network *
create_net(const char *name, const char *subnet, struct err **err)
{
    struct network_spec spec = {0};
    spec.name = xstrdup(name);
    spec.subnet = subnet ? xstrdup(subnet) : NULL;
    engine_lock(eng);
    struct network *n = network_create(eng, &spec, err);
    engine_unlock(eng);
    network_spec_fini(&spec);
    return n;
}

static void
ip_is(uint32_t ip, const char *want)
{
    char s[16];
    ipv4_format(ip, s);
    assert_string_equal(s, want);
}

static void
test_defaults_and_auto_subnets(void **state)
{
    (void)state;
    engine_lock(eng);
    assert_non_null(network_find(eng, "bridge", NULL));
    assert_non_null(network_find(eng, "host", NULL));
    struct network *none = network_find(eng, "none", NULL);
    assert_string_equal(none->driver, "null");
    struct err *err = NULL;
    assert_int_equal(network_remove(eng, none, &err), -1);
    assert_int_equal(err->kind, ERR_FORBIDDEN);
    err_clear(&err);
    engine_unlock(eng);
    struct network *a = create_net("a", NULL, NULL);
    struct network *b = create_net("b", NULL, NULL);
    ip_is(a->subnet, "172.18.0.0");
    ip_is(b->subnet, "172.19.0.0");
    ip_is(b->gateway, "172.19.0.1");
    assert_null(create_net("a", NULL, &err));
    assert_int_equal(err->kind, ERR_CONFLICT);
    err_clear(&err);
    assert_null(create_net("c", "172.18.5.0/24", &err)); /* inside a's pool */
    assert_int_equal(err->kind, ERR_FORBIDDEN);
    err_clear(&err);
    assert_null(create_net("d", "10.0.0.0/33", &err));
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
    struct network *e = create_net("e", "10.7.0.0/24", NULL);
    ip_is(e->gateway, "10.7.0.1");
    engine_lock(eng);
    assert_int_equal(network_remove(eng, a, NULL), 0);
    assert_int_equal(network_remove(eng, b, NULL), 0);
    assert_int_equal(network_remove(eng, e, NULL), 0);
    engine_unlock(eng);
}

static void
make(const char *name, const char *network, char id[ID_LEN + 1])
{
    struct container_create req = {0};
    req.spec.image = xstrdup("busybox");
    req.spec.open_stdin = true; /* 200 ms of running for the synthetic driver */
    req.spec.network_mode = network ? xstrdup(network) : NULL;
    req.name = xstrdup(name);
    assert_int_equal(engine_container_create(eng, &req, id, NULL), 0);
}

static uint32_t
ip_of(const char *id)
{
    engine_lock(eng);
    struct container *c = store_find_container(&eng->store, id, NULL);
    uint32_t ip = c->n_nets > 0 && c->nets[0].active ? c->nets[0].ip : 0;
    engine_unlock(eng);
    return ip;
}

static void
test_endpoints_live_while_running(void **state)
{
    (void)state;
    struct network *n = create_net("app", "10.9.0.0/24", NULL);
    char a[ID_LEN + 1], b[ID_LEN + 1], c[ID_LEN + 1];
    make("na", "app", a);
    make("nb", "app", b);
    make("nc", "app", c);
    assert_int_equal(ip_of(a), 0); /* created: no endpoint yet */
    assert_int_equal(engine_container_start(eng, a, NULL), 0);
    assert_int_equal(engine_container_start(eng, b, NULL), 0);
    ip_is(ip_of(a), "10.9.0.2");
    ip_is(ip_of(b), "10.9.0.3");
    struct err *err = NULL;
    engine_lock(eng);
    assert_int_equal(network_remove(eng, n, &err), -1); /* active endpoints */
    assert_int_equal(err->kind, ERR_FORBIDDEN);
    err_clear(&err);
    engine_unlock(eng);
    assert_int_equal(engine_container_kill(eng, a, 9, NULL), 0);
    assert_int_equal(ip_of(a), 0); /* released at exit */
    assert_int_equal(engine_container_start(eng, c, NULL), 0);
    ip_is(ip_of(c), "10.9.0.2"); /* the lowest free address is reused */
    assert_int_equal(engine_network_disconnect(eng, "app", "na", false, NULL), 0);
    assert_int_equal(engine_network_disconnect(eng, "app", "na", false, &err), -1);
    err_clear(&err);
    assert_int_equal(engine_network_connect(eng, "bridge", "na", NULL, "172.17.0.9", NULL), 0);
    assert_int_equal(engine_network_connect(eng, "app", "na", NULL, "10.10.0.1", &err), -1);
    assert_int_equal(err->kind, ERR_INVALID); /* outside the subnet */
    err_clear(&err);
    assert_int_equal(engine_container_start(eng, a, NULL), 0);
    ip_is(ip_of(a), "172.17.0.9");
    for (const char *const *x = (const char *const[]){a, b, c, NULL}; *x; x++)
        assert_int_equal(engine_container_remove(eng, *x, true, false, NULL), 0);
    engine_lock(eng);
    assert_int_equal(network_remove(eng, n, NULL), 0);
    engine_unlock(eng);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_auto_subnets),
        cmocka_unit_test(test_endpoints_live_while_running),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
