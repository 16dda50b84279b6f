/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The finding classifier on fixtures: every code of shared/FAILURES.md that the
 * kernel rule can decide, the verdict order, and the one-primary-code rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "engine/findings.h"
#include "util/util.h"

#define NGINX_UID 998
#define NGINX_GID 998
#define WWW 33

typedef struct Fixture {
        InodeInfo dirs[3];
        PathWalk walk;
        SocketFacts facts;
        ConsumerFacts cf[2];
        Report *r;
        gid_t groups[4];
} Fixture;

static void set_inode(InodeInfo *i, const char *path, mode_t type, mode_t mode, uid_t uid, gid_t gid) {
        i->path = (char *) path;
        i->st.st_mode = type | mode;
        i->st.st_uid = uid;
        i->st.st_gid = gid;
}

/* The seed case: /run/php/x.sock www-data:www-data 0660, nginx workers as user nginx,
 * a pool that sets listen.owner/group, php-fpm with ACL support. */
static int setup(void **state) {
        Fixture *x = calloc(1, sizeof(Fixture));
        set_inode(&x->dirs[0], "/", S_IFDIR, 0755, 0, 0);
        set_inode(&x->dirs[1], "/run", S_IFDIR, 0755, 0, 0);
        set_inode(&x->dirs[2], "/run/php", S_IFDIR, 0755, WWW, WWW);
        x->walk.dirs = x->dirs;
        x->walk.n_dirs = 3;
        x->walk.have_final = true;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0660, WWW, WWW);
        x->walk.resolved = (char *) "/run/php/x.sock";
        x->walk.final_fd = -1;
        x->facts = (SocketFacts) { .walk = &x->walk, .listener = true, .fs_acl = true };
        x->facts.pool = (PoolFacts) { .present = true, .name = "www", .file = "/etc/php/8.2/fpm/pool.d/www.conf",
                                      .sets_owner_or_group = true, .acl_supported = true };
        x->r = report_new("/run/php/x.sock");
        x->r->owner = strdup("www-data");
        x->r->group = strdup("www-data");
        Consumer *c = ARRAY_PUSH(x->r->consumers, x->r->n_consumers);
        c->server = strdup("nginx");
        c->user = strdup("nginx");
        c->uid = NGINX_UID;
        c->gid = NGINX_GID;
        c->probe_errno = -1;
        x->cf[0] = (ConsumerFacts) { .running = true };
        *state = x;
        return 0;
}

static int teardown(void **state) {
        Fixture *x = *state;
        report_free(x->r);
        free(x);
        return 0;
}

static const Finding *find(const Report *r, const char *code) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (streq_ptr(r->findings[i].code, code))
                        return &r->findings[i];
        return NULL;
}

static size_t count_errors(const Report *r) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_findings; i++)
                n += r->findings[i].severity == SEVERITY_ERROR;
        return n;
}

static void test_seed_group_mismatch(void **state) {
        Fixture *x = *state;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "denied");
        assert_int_equal(x->r->consumers[0].error, EACCES);
        assert_false(x->r->consumers[0].can_connect);
        const Finding *f = find(x->r, "socket-group-mismatch");
        assert_non_null(f);
        assert_int_equal(f->severity, SEVERITY_ERROR);
        assert_string_equal(f->consumer, "nginx");
        assert_string_equal(f->path, "/run/php/x.sock");
        assert_true(strv_contains(f->remedies, "pool-acl"));
        assert_true(strv_contains(f->remedies, "pool-group"));
        assert_true(strv_contains(f->remedies, "member"));
        assert_int_equal(count_errors(x->r), 1); /* one primary code per blocked consumer */
}

static void test_pool_acl_dropped_without_support(void **state) {
        Fixture *x = *state;
        x->facts.pool.acl_supported = false;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "socket-group-mismatch");
        assert_false(strv_contains(f->remedies, "pool-acl"));
        assert_true(strv_contains(f->remedies, "pool-group"));
}

static void test_no_pool_only_member(void **state) {
        Fixture *x = *state;
        x->facts.pool = (PoolFacts) {};
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "socket-group-mismatch");
        assert_int_equal(strv_length(f->remedies), 1);
        assert_string_equal(f->remedies[0], "member");
}

static void test_unowned(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0660, 0, 0);
        x->facts.pool.sets_owner_or_group = false;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_non_null(find(x->r, "socket-unowned"));
        assert_null(find(x->r, "socket-group-mismatch"));
        assert_false(strv_contains(find(x->r, "socket-unowned")->remedies, "member"));
}

static void test_root_root_but_pool_sets_owner_is_mismatch(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0660, 0, 0);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_null(find(x->r, "socket-unowned"));
        assert_non_null(find(x->r, "socket-group-mismatch"));
}

static void test_mode_no_write_owner_class(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0444, NGINX_UID, WWW);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_non_null(find(x->r, "socket-mode-no-write"));
        assert_string_equal(verdict_to_string(x->r->verdict), "denied");
}

static void test_mode_no_write_group_class(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0644, WWW, NGINX_GID);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_non_null(find(x->r, "socket-mode-no-write"));
}

static void test_acl_missing_user(void **state) {
        Fixture *x = *state;
        AclItem acl[] = {
                { ACL_TAG_USER_OBJ, 0, 6 }, { ACL_TAG_USER, WWW, 6 }, { ACL_TAG_GROUP_OBJ, 0, 0 },
                { ACL_TAG_MASK, 0, 6 },     { ACL_TAG_OTHER, 0, 0 },
        };
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0660, 0, 0);
        x->walk.final.acl = acl;
        x->walk.final.n_acl = ELEMENTSOF(acl);
        x->facts.pool.sets_owner_or_group = false;
        x->facts.pool.sets_acl = true;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "acl-missing-user");
        assert_non_null(f);
        assert_int_equal(strv_length(f->remedies), 1);
        assert_string_equal(f->remedies[0], "pool-acl");
        assert_null(find(x->r, "socket-unowned"));
}

static void test_dir_no_search_first(void **state) {
        Fixture *x = *state;
        set_inode(&x->dirs[2], "/run/php", S_IFDIR, 0700, WWW, WWW);
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0666, WWW, WWW);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "dir-no-search");
        assert_non_null(f);
        assert_string_equal(f->path, "/run/php");
        assert_string_equal(f->remedies[0], "dir-search");
        assert_int_equal(count_errors(x->r), 1);
        assert_non_null(find(x->r, "world-writable")); /* beside it, as a warning */
}

static void test_stale_credentials(void **state) {
        Fixture *x = *state;
        gid_t db[] = { NGINX_GID, WWW };
        x->cf[0].db_groups = db;
        x->cf[0].n_db_groups = 2;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "stale-credentials");
        assert_non_null(f);
        assert_string_equal(f->remedies[0], "refresh");
        assert_true(x->r->consumers[0].stale_credentials);
        assert_null(find(x->r, "socket-group-mismatch"));
}

static void test_stopped_server_is_not_stale(void **state) {
        Fixture *x = *state;
        gid_t db[] = { NGINX_GID, WWW };
        x->cf[0].db_groups = db;
        x->cf[0].n_db_groups = 2;
        x->cf[0].running = false;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_null(find(x->r, "stale-credentials"));
        assert_false(x->r->consumers[0].stale_credentials);
}

static void test_world_writable_ok(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0666, WWW, WWW);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "ok");
        assert_true(x->r->consumers[0].can_connect);
        const Finding *f = find(x->r, "world-writable");
        assert_non_null(f);
        assert_int_equal(f->severity, SEVERITY_WARNING);
        assert_true(strv_contains(f->remedies, "pool-acl"));
}

static void test_config_drift(void **state) {
        Fixture *x = *state;
        /* Live inode lets nginx in (someone ran chgrp by hand); the config would not. */
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0660, WWW, NGINX_GID);
        x->facts.pool.have_predicted = true;
        set_inode(&x->facts.pool.predicted, "/run/php/x.sock", S_IFSOCK, 0660, WWW, WWW);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "ok");
        const Finding *f = find(x->r, "config-drift");
        assert_non_null(f);
        assert_int_equal(f->severity, SEVERITY_WARNING);
        assert_non_null(strstr(f->summary, "can connect now but not after"));
}

static void test_no_drift_when_same_access(void **state) {
        Fixture *x = *state;
        /* Different owner fields, same people let in: no drift. */
        x->facts.pool.have_predicted = true;
        set_inode(&x->facts.pool.predicted, "/run/php/x.sock", S_IFSOCK, 0600, WWW, 0);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_null(find(x->r, "config-drift"));
}

static void test_nss_cache_info(void **state) {
        Fixture *x = *state;
        x->facts.nscd_running = true;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "nss-cache");
        assert_non_null(f);
        assert_int_equal(f->severity, SEVERITY_INFO);
}

static void test_dir_default_acl(void **state) {
        Fixture *x = *state;
        x->dirs[2].has_default_acl = true;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "dir-default-acl");
        assert_non_null(f);
        assert_string_equal(f->path, "/run/php");
}

static void test_missing(void **state) {
        Fixture *x = *state;
        x->walk.have_final = false;
        x->walk.error = ENOENT;
        x->facts.listener = false;
        strv_extend(&x->r->candidates, "/run/php/php8.2-fpm.sock");
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "missing");
        assert_int_equal(x->r->consumers[0].error, ENOENT);
        const Finding *f = find(x->r, "socket-missing");
        assert_non_null(f);
        assert_non_null(strstr(f->detail, "/run/php/php8.2-fpm.sock"));
        assert_null(f->remedies);
}

static void test_missing_wins_over_denied_dir(void **state) {
        Fixture *x = *state;
        set_inode(&x->dirs[2], "/run/php", S_IFDIR, 0700, WWW, WWW);
        x->walk.have_final = false;
        x->walk.error = ENOENT;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "missing");
}

static void test_refused(void **state) {
        Fixture *x = *state;
        x->facts.listener = false;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "refused");
        assert_non_null(find(x->r, "listener-down"));
        assert_null(find(x->r, "listener-down")->remedies);
}

static void test_overloaded(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0666, WWW, WWW);
        x->facts.queue_full = true;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "overloaded");
        assert_int_equal(x->r->consumers[0].error, EAGAIN);
        assert_non_null(find(x->r, "backlog-full"));
}

/* A regular file where the pool's socket should be: what stands there, and that
 * php-fpm's next start (not a reload) replaces it. */
static void test_not_a_socket(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFREG, 0640, 0, 42);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "not-a-socket");
        const Finding *f = find(x->r, "not-a-socket");
        assert_non_null(f);
        assert_string_equal(f->summary, "/run/php/x.sock is a regular file, not a socket");
        assert_string_equal(f->path, "/run/php/x.sock");
        assert_string_equal(severity_to_string(f->severity), "error");
        assert_null(f->remedies);
        assert_non_null(strstr(f->detail, "pool www"));
        assert_non_null(strstr(f->detail, "restart php-fpm"));
        assert_int_equal(count_errors(x->r), 1);
}

/* php-fpm unlinks a file at its listen path, but cannot a directory; without a pool
 * there is nothing that would replace it. */
static void test_not_a_socket_directory(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFDIR, 0755, 0, 0);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "not-a-socket");
        assert_non_null(f);
        assert_string_equal(f->summary, "/run/php/x.sock is a directory, not a socket");
        assert_non_null(strstr(f->detail, "move the directory away"));

        report_free(x->r);
        x->r = report_new("/run/php/x.sock");
        x->facts.pool.present = false;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFIFO, 0600, 0, 0);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        f = find(x->r, "not-a-socket");
        assert_non_null(f);
        assert_string_equal(f->summary, "/run/php/x.sock is a FIFO, not a socket");
        assert_null(strstr(f->detail, "php-fpm"));
}

static void test_loop_is_not_a_socket(void **state) {
        Fixture *x = *state;
        x->walk.have_final = false;
        x->walk.error = ELOOP;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "not-a-socket");
        const Finding *f = find(x->r, "path-lookup-failed");
        assert_non_null(f);
        assert_string_equal(f->summary, "/run/php/x.sock has too many levels of symbolic links (a loop)");
        assert_null(find(x->r, "not-a-socket"));
}

/* What the lookup met, as connect() would meet it: a file where a directory should be,
 * or the file system's own error (a FUSE daemon gone, an I/O error). */
static void test_lookup_errors(void **state) {
        Fixture *x = *state;
        static const struct {
                int error;
                const char *summary;
                const char *detail;
        } cases[] = {
                { ENOTDIR, "a component of /run/php/x.sock is not a directory", "configuration" },
                { ENAMETOOLONG, "/run/php/x.sock is too long or too deep to look up", "configuration" },
                { EIO, "looking up /run/php/x.sock fails: Input/output error", "kernel log" },
                { ENOTCONN, "looking up /run/php/x.sock fails: Transport endpoint is not connected", "kernel log" },
        };
        x->walk.have_final = false;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                report_free(x->r);
                x->r = report_new("/run/php/x.sock");
                x->walk.error = cases[i].error;
                assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
                assert_string_equal(verdict_to_string(x->r->verdict), "not-a-socket");
                const Finding *f = find(x->r, "path-lookup-failed");
                assert_non_null(f);
                assert_string_equal(f->summary, cases[i].summary);
                assert_non_null(strstr(f->detail, cases[i].detail));
                assert_int_equal(x->r->n_findings, 1);
        }
}

/* For a caller other than root: no owner, group, mode or resolved path, and the
 * verdict's finding names only the path as asked, not where its link leads or what
 * stands there. Other findings stay. */
static void test_hide_inode(void **state) {
        Fixture *x = *state;
        free(x->r->socket);
        x->r->socket = strdup("/srv/private/key");
        x->walk.resolved = (char *) "/etc/shadow";
        set_inode(&x->walk.final, "/etc/shadow", S_IFREG, 0640, 0, 42);
        x->r->resolved = strdup("/etc/shadow");
        x->r->have_inode = true;
        x->r->mode = 0640;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_non_null(strstr(find(x->r, "not-a-socket")->summary, "/etc/shadow is a regular file"));
        size_t n = x->r->n_findings;

        assert_int_equal(findings_hide_inode(x->r), 0);
        assert_null(x->r->resolved);
        assert_null(x->r->owner);
        assert_null(x->r->group);
        assert_false(x->r->have_inode);
        assert_int_equal(x->r->mode, 0);
        assert_int_equal(x->r->n_findings, n);
        const Finding *f = find(x->r, "not-a-socket");
        assert_non_null(f);
        assert_string_equal(f->summary, "/srv/private/key is not a socket");
        assert_string_equal(f->path, "/srv/private/key");
        for (size_t i = 0; i < x->r->n_findings; i++) {
                const Finding *g = &x->r->findings[i];
                assert_null(strstr(g->summary, "shadow"));
                assert_true(!g->detail || !strstr(g->detail, "shadow"));
                assert_true(!g->path || !strstr(g->path, "shadow"));
        }

        /* A lookup error says no more either; a dangling link's target is not named. */
        static const struct {
                int error;
                const char *code;
                const char *summary;
        } cases[] = {
                { EIO, "not-a-socket", "/srv/private/key is not a socket" },
                { ENOENT, "socket-missing", "nothing exists at /srv/private/key" },
        };
        x->walk.have_final = false;
        x->walk.resolved = (char *) "/etc/secret-name";
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                report_free(x->r);
                x->r = report_new("/srv/private/key");
                x->r->resolved = strdup("/etc/secret-name");
                x->walk.error = cases[i].error;
                assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
                assert_int_equal(findings_hide_inode(x->r), 0);
                f = find(x->r, cases[i].code);
                assert_non_null(f);
                assert_string_equal(f->summary, cases[i].summary);
                assert_null(find(x->r, "path-lookup-failed"));
                for (size_t j = 0; j < x->r->n_findings; j++) {
                        const Finding *g = &x->r->findings[j];
                        assert_null(strstr(g->summary, "secret"));
                        assert_true(!g->detail || !strstr(g->detail, "secret"));
                        assert_true(!g->path || !strstr(g->path, "secret"));
                }
        }
}

static void test_no_consumer(void **state) {
        Fixture *x = *state;
        x->r->n_consumers = 0;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "no-consumer");
        x->r->n_consumers = 1; /* so teardown frees it */
}

static void test_ok_no_findings(void **state) {
        Fixture *x = *state;
        x->r->consumers[0].groups = malloc(sizeof(gid_t));
        x->r->consumers[0].groups[0] = WWW;
        x->r->consumers[0].n_groups = 1;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_string_equal(verdict_to_string(x->r->verdict), "ok");
        assert_int_equal(x->r->n_findings, 0);
}

static void test_acl_unsupported(void **state) {
        Fixture *x = *state;
        x->facts.pool.sets_acl = true;
        x->facts.pool.acl_supported = false;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "acl-unsupported");
        assert_non_null(f);
        assert_null(f->remedies);
}

static void test_pool_start_failure(void **state) {
        Fixture *x = *state;
        x->walk.have_final = false;
        x->walk.error = ENOENT;
        x->facts.pool.unknown_account = "nosuchuser";
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        const Finding *f = find(x->r, "pool-start-failure");
        assert_non_null(f);
        assert_non_null(strstr(f->summary, "nosuchuser"));
}

static void test_namespace_mismatch(void **state) {
        Fixture *x = *state;
        free(x->r->socket);
        x->r->socket = strdup("/tmp/php.sock");
        x->walk.have_final = false;
        x->walk.error = ENOENT;
        x->cf[0].mnt_ns = 4026531840u;
        x->facts.listener_mnt_ns = 4026532999u;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        assert_true(finding_is_not_permissions(find(x->r, "namespace-mismatch")->code));
}

static void test_probe_disagrees(void **state) {
        Fixture *x = *state;
        set_inode(&x->walk.final, "/run/php/x.sock", S_IFSOCK, 0666, WWW, WWW);
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        x->r->consumers[0].probe_errno = EACCES;
        assert_int_equal(findings_add_probe(x->r), 1);
        const Finding *f = find(x->r, "probe-disagrees");
        assert_non_null(f);
        assert_int_equal(f->severity, SEVERITY_WARNING);
        assert_non_null(strstr(f->summary, "Permission denied"));
}

static void test_probe_agrees(void **state) {
        Fixture *x = *state;
        assert_int_equal(findings_classify(x->r, &x->facts, x->cf), 0);
        x->r->consumers[0].probe_errno = EACCES;
        assert_int_equal(findings_add_probe(x->r), 0);
        assert_null(find(x->r, "probe-disagrees"));
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_seed_group_mismatch),
                T(test_pool_acl_dropped_without_support),
                T(test_no_pool_only_member),
                T(test_unowned),
                T(test_root_root_but_pool_sets_owner_is_mismatch),
                T(test_mode_no_write_owner_class),
                T(test_mode_no_write_group_class),
                T(test_acl_missing_user),
                T(test_dir_no_search_first),
                T(test_stale_credentials),
                T(test_stopped_server_is_not_stale),
                T(test_world_writable_ok),
                T(test_config_drift),
                T(test_no_drift_when_same_access),
                T(test_nss_cache_info),
                T(test_dir_default_acl),
                T(test_missing),
                T(test_missing_wins_over_denied_dir),
                T(test_refused),
                T(test_overloaded),
                T(test_not_a_socket),
                T(test_not_a_socket_directory),
                T(test_loop_is_not_a_socket),
                T(test_lookup_errors),
                T(test_hide_inode),
                T(test_no_consumer),
                T(test_ok_no_findings),
                T(test_acl_unsupported),
                T(test_pool_start_failure),
                T(test_namespace_mismatch),
                T(test_probe_disagrees),
                T(test_probe_agrees),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
