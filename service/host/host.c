/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host.h"

#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "sys/nss.h"
#include "sys/reload.h"
#include "sys/safe-fs.h"
#include "util/log.h"
#include "util/util.h"

/* Where distributions put the configs of installations that are not running. */
static const char *const fpm_default_globs[] = {
        "/etc/php/*/fpm/php-fpm.conf",        /* Debian, Ubuntu */
        "/etc/php-fpm.conf",                  /* RHEL, Fedora */
        "/etc/opt/remi/php*/php-fpm.conf",    /* Remi's SCL builds */
        "/usr/local/etc/php-fpm.conf",        /* FreeBSD, source builds */
        NULL,
};

typedef enum ServerKind {
        SERVER_NONE,
        SERVER_NGINX,
        SERVER_APACHE,
        SERVER_CADDY,
        SERVER_LIGHTTPD,
} ServerKind;

static const char *base_name(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

static const char *process_program(const Process *p) {
        return p->exe ? base_name(p->exe) : strempty(p->comm);
}

static bool program_is_fpm(const char *prog) {
        return startswith(prog, "php-fpm") || (startswith(prog, "php") && strstr(prog, "-fpm"));
}

bool program_speaks_fastcgi(const char *comm) {
        return comm && (program_is_fpm(comm) || startswith(comm, "php-cgi") || streq_ptr(comm, "fcgiwrap") ||
                        streq_ptr(comm, "spawn-fcgi") || streq_ptr(comm, "hhvm"));
}

bool program_is_app_server(const char *comm) {
        return comm && (program_speaks_fastcgi(comm) || startswith(comm, "uwsgi") || streq_ptr(comm, "gunicorn") ||
                        streq_ptr(comm, "puma") || streq_ptr(comm, "unicorn"));
}

static bool process_is_app_server(const Process *p) {
        return program_is_app_server(p->comm);
}

static ServerKind server_kind(const char *prog) {
        if (streq_ptr(prog, "nginx"))
                return SERVER_NGINX;
        if (streq_ptr(prog, "apache2") || streq_ptr(prog, "httpd"))
                return SERVER_APACHE;
        if (streq_ptr(prog, "caddy"))
                return SERVER_CADDY;
        if (streq_ptr(prog, "lighttpd"))
                return SERVER_LIGHTTPD;
        return SERVER_NONE;
}

/* Titles rewritten by nginx and php-fpm come back as one argv element with spaces;
 * split everything into words so option scanning works either way. */
static char **argv_words(char *const *argv) {
        char **words = NULL;
        for (char *const *a = argv; a && *a; a++) {
                _cleanup_free_ char *copy = strdup(*a);
                if (!copy)
                        return strv_free(words);
                char *save = NULL;
                for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
                        if (strv_extend(&words, w) < 0)
                                return strv_free(words);
        }
        return words;
}

static const char *words_option(char **words, const char *shortopt, const char *longopt) {
        for (char **w = words; w && *w; w++) {
                if ((shortopt && streq_ptr(*w, shortopt)) || (longopt && streq_ptr(*w, longopt)))
                        return w[1];
                if (longopt && startswith(*w, longopt) && (*w)[strlen(longopt)] == '=')
                        return *w + strlen(longopt) + 1;
        }
        return NULL;
}

static char *fpm_config_from_process(const Process *p) {
        /* "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)" */
        const char *title = p->argv ? p->argv[0] : NULL;
        if (title && startswith(title, "php-fpm: master process")) {
                const char *open = strchr(title, '('), *close = open ? strrchr(open, ')') : NULL;
                if (open && close && close > open + 1)
                        return strndup(open + 1, (size_t) (close - open - 1));
        }
        _cleanup_strv_free_ char **words = argv_words(p->argv);
        const char *y = words_option(words, "-y", "--fpm-config");
        if (y)
                return strdup(y);
        /* No title and no option: the build's default for the binary's layout. */
        const char *prog = process_program(p);
        if (startswith(prog, "php-fpm") && prog[7]) {
                char *r;
                return asprintf(&r, "/etc/php/%s/fpm/php-fpm.conf", prog + 7) < 0 ? NULL : r;
        }
        if (p->exe && startswith(p->exe, "/usr/local/"))
                return strdup("/usr/local/etc/php-fpm.conf");
        return strdup("/etc/php-fpm.conf");
}

/* The php-fpm binary of a stopped Debian-style installation: /etc/php/X.Y/... -> /usr/sbin/php-fpmX.Y. */
static char *fpm_exe_for_config(const char *conf) {
        char ver[16];
        if (sscanf(conf, "/etc/php/%15[0-9.]/fpm/", ver) == 1) {
                char *r;
                return asprintf(&r, "/usr/sbin/php-fpm%s", ver) < 0 ? NULL : r;
        }
        return strdup("/usr/sbin/php-fpm");
}

typedef struct BinaryFact {
        dev_t dev;
        ino_t ino;
        struct timespec mtime;
        off_t size;
        bool has_acl;
} BinaryFact;

struct HostCache {
        BinaryFact *binaries;
        size_t n_binaries;
};

HostCache *host_cache_new(void) {
        return calloc(1, sizeof(HostCache));
}

HostCache *host_cache_free(HostCache *c) {
        if (c)
                free(c->binaries);
        free(c);
        return NULL;
}

/* php-fpm knows listen.acl_* only when built with ACL support; the key names are then
 * in its binary. Reading the binary is cheaper and safer than running it, and the
 * answer is kept for as long as the binary is the same file. */
static bool fpm_binary_has_acl(HostCache *cache, const char *exe) {
        _cleanup_close_ int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
                return false;
        for (size_t i = 0; cache && i < cache->n_binaries; i++) {
                const BinaryFact *b = &cache->binaries[i];
                if (b->dev == st.st_dev && b->ino == st.st_ino && b->size == st.st_size &&
                    b->mtime.tv_sec == st.st_mtim.tv_sec && b->mtime.tv_nsec == st.st_mtim.tv_nsec)
                        return b->has_acl;
        }
        /* Read in chunks, not mmap: a mapping of the whole binary counts in our RSS while
         * it is scanned (5 MiB for php-fpm8.2, most of the daemon's peak). */
        static const char needle[] = "listen.acl_users";
        const size_t keep = sizeof(needle) - 2, chunk = 64 * 1024;
        _cleanup_free_ char *buf = malloc(chunk + keep);
        bool found = false;
        size_t have = 0;
        if (!buf)
                return false;
        for (;;) {
                ssize_t k = read(fd, buf + have, chunk);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                have += (size_t) k;
                if (memmem(buf, have, needle, sizeof(needle) - 1)) {
                        found = true;
                        break;
                }
                /* A match may straddle two chunks: keep the tail. */
                size_t tail = have < keep ? have : keep;
                memmove(buf, buf + have - tail, tail);
                have = tail;
        }
        BinaryFact *b = cache ? ARRAY_PUSH(cache->binaries, cache->n_binaries) : NULL;
        if (b)
                *b = (BinaryFact) { .dev = st.st_dev, .ino = st.st_ino, .mtime = st.st_mtim, .size = st.st_size,
                                    .has_acl = found };
        return found;
}

static bool same_file(const char *a, const char *b) {
        struct stat sa, sb;
        if (streq_ptr(a, b))
                return true;
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static FpmInstance *host_find_fpm(Host *h, const char *conf) {
        for (size_t i = 0; i < h->n_fpms; i++)
                if (same_file(h->fpms[i].config.main_file ? h->fpms[i].config.main_file : "", conf))
                        return &h->fpms[i];
        return NULL;
}

static int host_add_fpm(Host *h, const Process *master, const char *conf) {
        if (host_find_fpm(h, conf))
                return 0;
        FpmInstance *f = ARRAY_PUSH(h->fpms, h->n_fpms);
        if (!f)
                return -ENOMEM;
        int r = fpm_config_load(conf, &f->config);
        f->loaded = r >= 0;
        if (!f->loaded && !(f->config.main_file = strdup(conf)))
                return -ENOMEM;
        if (master) {
                f->master_pid = master->pid;
                f->master_start = master->start_time;
                f->mnt_ns = master->mnt_ns;
                f->program = strdup(strempty(master->comm));
                f->exe = strdup_or_null(master->exe);
        } else {
                f->exe = fpm_exe_for_config(conf);
                f->program = strdup(base_name(strempty(f->exe)));
        }
        if (!f->program)
                return -ENOMEM;
        f->acl_supported = f->exe && fpm_binary_has_acl(h->cache, f->exe);
        return 0;
}

static int creds_from_user(const char *user, WorkerSet *w) {
        uid_t uid;
        gid_t gid;
        int r = nss_user_by_name(user, &uid, &gid);
        if (r >= 0)
                r = nss_grouplist(user, gid, &w->groups, &w->n_groups);
        if (r < 0)
                return r;
        w->uid = uid;
        w->gid = gid;
        w->user = strdup(user);
        return w->user ? 0 : -ENOMEM;
}

static int server_add_worker(WebServer *s, const Process *p) {
        WorkerSet *w = NULL;
        for (size_t i = 0; i < s->n_workers && !w; i++)
                if (s->workers[i].first && process_same_creds(s->workers[i].first, p))
                        w = &s->workers[i];
        if (!w) {
                w = ARRAY_PUSH(s->workers, s->n_workers);
                if (!w)
                        return -ENOMEM;
                w->first = p;
                w->uid = p->euid;
                w->gid = p->egid;
                w->mnt_ns = p->mnt_ns;
                if (p->n_groups) {
                        w->groups = malloc(sizeof(gid_t) * p->n_groups);
                        if (!w->groups)
                                return -ENOMEM;
                        memcpy(w->groups, p->groups, sizeof(gid_t) * p->n_groups);
                        w->n_groups = p->n_groups;
                }
                w->user = nss_name_or_number(false, p->euid);
                if (!w->user)
                        return -ENOMEM;
        }
        pid_t *pid = ARRAY_PUSH(w->pids, w->n_pids);
        if (!pid)
                return -ENOMEM;
        *pid = p->pid;
        return 0;
}

static int server_load_config(const Host *h, WebServer *s, ServerKind kind, const char *conf, const char *prefix,
                              const StrShare *share) {
        int r;
        switch (kind) {
        case SERVER_NGINX:
                r = nginx_config_load(conf, prefix, share, &s->config);
                break;
        case SERVER_APACHE: {
                /* Debian keeps APACHE_RUN_USER & co. in envvars beside apache2.conf. */
                _cleanup_free_ char *dir = strdup(conf), *envvars = NULL;
                if (!dir)
                        return -ENOMEM;
                char *slash = strrchr(dir, '/');
                if (slash)
                        *slash = 0;
                if (asprintf(&envvars, "%s/envvars", dir) < 0)
                        return -ENOMEM;
                /* A running master's ${VAR}s are its environment's. Apache is read only
                 * when root runs it (unprivileged_server_files_distrust()), so that is root's. */
                if (s->master_pid > 0 && h->proc_fd >= 0 &&
                    proc_read_environ(h->proc_fd, s->master_pid, s->master_start, &s->master_env) < 0)
                        return -ENOMEM;
                r = apache_config_load(conf, prefix ? prefix : dir, access(envvars, R_OK) == 0 ? envvars : NULL,
                                       s->master_env, share, &s->config);
                break;
        }
        case SERVER_CADDY:
                r = caddy_config_load(conf, share, &s->config);
                break;
        case SERVER_LIGHTTPD:
                r = lighttpd_config_load(conf, share, &s->config);
                break;
        default:
                return -EINVAL;
        }
        s->loaded = r >= 0;
        if (!s->config.main_file && !(s->config.main_file = strdup(conf)))
                return -ENOMEM;
        if (!s->config.server) {
                static const char *const names[] = {
                        [SERVER_NGINX] = "nginx", [SERVER_APACHE] = "apache2",
                        [SERVER_CADDY] = "caddy", [SERVER_LIGHTTPD] = "lighttpd",
                };
                if (!(s->config.server = strdup(names[kind])))
                        return -ENOMEM;
        }
        return 0;
}

static const char *server_default_conf(ServerKind kind, const Process *master, const char **prefix) {
        *prefix = NULL;
        switch (kind) {
        case SERVER_NGINX:
                return "/etc/nginx/nginx.conf";
        case SERVER_APACHE:
                if (master && master->exe && strstr(master->exe, "httpd")) {
                        *prefix = "/etc/httpd";
                        return "/etc/httpd/conf/httpd.conf";
                }
                *prefix = "/etc/apache2";
                return "/etc/apache2/apache2.conf";
        case SERVER_CADDY:
                return "/etc/caddy/Caddyfile";
        case SERVER_LIGHTTPD:
                return "/etc/lighttpd/lighttpd.conf";
        default:
                return NULL;
        }
}

/* The user a server runs as when its configuration names none: lighttpd's own
 * compiled-in nothing aside, what the distributions' packages run it as. */
static const char *server_packaged_user(const char *server) {
        return streq_ptr(server, "caddy") ? "caddy" : streq_ptr(server, "nginx") ? "nobody" : "www-data";
}

/* Why what sockfixd sees at p's paths may not be what p runs: another mount namespace
 * (a container: its /usr/sbin/apache2 and /etc are not ours), or a binary that is not
 * the one its path names (replaced by an upgrade: " (deleted)"). NULL: the same. */
static const char *process_files_differ(const Host *h, const Process *p) {
        char name[32];
        struct stat own_ns, runs, named;
        snprintf(name, sizeof(name), "%d/exe", (int) p->pid);
        _cleanup_close_ int exe = h->proc_fd >= 0 ? openat(h->proc_fd, name, O_PATH | O_CLOEXEC) : -1;
        if (!p->mnt_ns || fstatat(h->proc_fd, "self/ns/mnt", &own_ns, 0) < 0 || own_ns.st_ino != p->mnt_ns)
                return "it runs in a mount namespace of its own";
        if (exe < 0 || !p->exe || fstat(exe, &runs) < 0 || stat(p->exe, &named) < 0 || runs.st_dev != named.st_dev ||
            runs.st_ino != named.st_ino || !proc_still_running_at(h->proc_fd, p->pid, p->start_time))
                return "the binary it runs is not the one its path names";
        return NULL;
}

/* A server root does not run is read only when nothing but root could have made it.
 * Only Caddy (Debian's unit runs it as caddy) and lighttpd (it drops root for
 * server.username) serve so; an nginx or Apache that is not root's is a user's, see
 * is_root_master() (and its master could not give its workers new groups on a reload).
 * It must run, in sockfixd's own mount namespace, the very binary its path names here,
 * and that binary and its configuration (an absolute path) must be root's alone:
 * checked before a byte of the configuration is read, a user's may be of any size. A
 * process in a namespace of a user's own can run anything at /usr/sbin/lighttpd. NULL:
 * trusted so far; else why not. */
static const char *unprivileged_server_files_distrust(const Host *h, ServerKind kind, const Process *p,
                                                      const char *conf) {
        if (kind != SERVER_CADDY && kind != SERVER_LIGHTTPD)
                return "only Caddy and lighttpd serve as a user other than root";
        if (!conf || conf[0] != '/')
                return "its configuration is not named by an absolute path";
        const char *why = process_files_differ(h, p);
        if (why)
                return why;
        /* Not file_root_only(): its cache borrows each file name for the model's life,
         * and conf may be a name built for this call. */
        if (path_only_root_can_change(p->exe, NULL) <= 0)
                return "its binary is not root's alone";
        if (path_only_root_can_change(conf, NULL) <= 0)
                return "its configuration is not root's alone";
        return NULL;
}

/* ... and once the configuration is read, it runs as exactly the user that names (the
 * packaged one for Caddy, which has no such directive): another user can start
 * /usr/sbin/lighttpd -f /etc/lighttpd/lighttpd.conf, but only as themselves, and a
 * consumer of theirs would have a Fix grant their own account the socket. */
static const char *unprivileged_server_user_distrust(const WebServer *s, const Process *p) {
        if (!s->loaded)
                return "its configuration cannot be read";
        const char *user = s->config.user ?: streq_ptr(s->config.server, "caddy") ? server_packaged_user("caddy") : NULL;
        if (!user)
                return "its configuration names no user to run as";
        uid_t uid;
        int k = nss_user_by_name(user, &uid, NULL);
        if (k == -ETIMEDOUT)
                return "the user database did not answer for the user its configuration names";
        if (k < 0 || uid == 0 || p->ruid != uid || p->euid != uid)
                return "it does not run as the user its configuration names";
        return NULL;
}

static int host_add_server(Host *h, ServerKind kind, const Process *master) {
        _cleanup_strv_free_ char **words = master ? argv_words(master->argv) : NULL;
        const char *prefix = NULL, *conf = server_default_conf(kind, master, &prefix);
        _cleanup_free_ char *conf_abs = NULL;
        if (master) {
                const char *c = NULL, *p = NULL;
                switch (kind) {
                case SERVER_NGINX:
                        c = words_option(words, "-c", NULL);
                        p = words_option(words, "-p", NULL);
                        break;
                case SERVER_APACHE:
                        c = words_option(words, "-f", NULL);
                        p = words_option(words, "-d", NULL);
                        /* -d moves ServerRoot, and the compiled-in config file (relative to
                         * it) with it: apache2ctl starts an instance as -d /etc/apache2-NAME. */
                        if (!c && p && startswith(conf, prefix) && conf[strlen(prefix)] == '/')
                                c = conf + strlen(prefix) + 1;
                        break;
                case SERVER_CADDY:
                        c = words_option(words, NULL, "--config");
                        break;
                case SERVER_LIGHTTPD:
                        c = words_option(words, "-f", NULL);
                        break;
                default:
                        break;
                }
                if (p)
                        prefix = p;
                if (c && c[0] != '/' && prefix) {
                        /* nginx resolves a relative -c against its prefix, Apache -f against ServerRoot. */
                        if (asprintf(&conf_abs, "%s/%s", prefix, c) < 0)
                                return -ENOMEM;
                        c = conf_abs;
                }
                if (c)
                        conf = c;
        } else if (access(conf, R_OK) < 0)
                return 0;
        bool root = !master || (master->ruid == 0 && master->euid == 0);
        const char *why = NULL;
        /* A configuration read once per model for each user it did not name: copies of
         * root's lighttpd that another user starts must not each have it parsed. */
        _cleanup_free_ char *key = NULL;
        if (!root && asprintf(&key, "%u:%s", (unsigned) master->ruid, conf) < 0)
                return -ENOMEM;
        if (!root && strv_contains(h->distrusted, key))
                return 0;
        if (!root && (why = unprivileged_server_files_distrust(h, kind, master, conf)))
                goto distrusted;
        for (size_t i = 0; i < h->n_servers; i++)
                if (same_file(strempty(h->servers[i].config.main_file), conf))
                        return 0; /* already known: running masters are scanned before defaults */
        WebServer *s = ARRAY_PUSH(h->servers, h->n_servers);
        if (!s)
                return -ENOMEM;
        if (master) {
                s->master_pid = master->pid;
                s->master_start = master->start_time;
                s->exe = strdup_or_null(master->exe);
                /* Apache never rewrites its title: its arguments as given, spaces and all
                 * (apache2 -t repeats them); nginx's may be one rewritten string. */
                if (kind == SERVER_APACHE) {
                        for (char *const *a = master->argv; a && *a; a++)
                                if (strv_extend(&s->master_argv, *a) < 0)
                                        return -ENOMEM;
                } else
                        s->master_argv = TAKE_PTR(words);
        }
        int r = server_load_config(h, s, kind, conf, prefix, &h->path_share);
        if (r < 0 || root || !(why = unprivileged_server_user_distrust(s, master)))
                return r;
        web_config_done(&s->config);
        free(s->exe);
        strv_free(s->master_argv);
        strv_free(s->master_env);
        *s = (WebServer) {};
        h->n_servers--;
        if (strv_consume(&h->distrusted, TAKE_PTR(key)) < 0)
                return -ENOMEM;
distrusted:
        log_debug("%s (pid %d) not run by root is not read: %s", process_program(master), (int) master->pid, why);
        return 0;
}

static bool same_family(const char *a, const char *b) {
        if (program_is_fpm(a))
                return program_is_fpm(b);
        return server_kind(a) == server_kind(b);
}

/* A master is a server process whose parent is not of the same program. */
static bool is_master(const ProcTable *t, const Process *p) {
        const Process *parent = proc_table_find(t, p->ppid);
        return !(parent && same_family(process_program(p), process_program(parent)));
}

/* php-fpm masters (fpm) or web-server masters: the pools are known before the web
 * servers' configs are read, so that references borrow the pools' socket paths. */
/* Only masters root runs are read. Any user can start a "php-fpm" or an "nginx": its
 * configs are the user's choice, of any size (one of 12 MB made every sweep take 16 s
 * and the reply outgrow the bus), it may name root's own config before root's master
 * does and stand in for it, and what it serves is the user's to fix. Its sockets are
 * still seen, listened on by a program that is not root's. */
static bool is_root_master(const ProcTable *procs, const Process *p) {
        return p->ruid == 0 && p->euid == 0 && is_master(procs, p);
}

static int host_scan_processes(Host *h, bool fpm) {
        for (size_t i = 0; i < h->procs.n; i++) {
                const Process *p = &h->procs.procs[i];
                const char *prog = process_program(p);
                int r = 0;
                if (program_is_fpm(prog) != fpm)
                        continue;
                if (fpm) {
                        if (is_root_master(&h->procs, p)) {
                                _cleanup_free_ char *conf = fpm_config_from_process(p);
                                if (!conf)
                                        return -ENOMEM;
                                r = host_add_fpm(h, p, conf);
                        }
                } else if (server_kind(prog) != SERVER_NONE) {
                        /* Not root's: host_add_server() reads it only if root made it. */
                        if (is_master(&h->procs, p))
                                r = host_add_server(h, server_kind(prog), p);
                } else if (streq_ptr(p->comm, "nscd"))
                        h->nscd_running = true;
                else if (streq_ptr(p->comm, "sssd") || streq_ptr(p->comm, "sssd_nss"))
                        h->sssd_running = true;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Workers are the children of a master; a single-process server (Caddy, lighttpd,
 * a master run without workers) is its own worker. nginx's cache helpers never
 * connect upstream, so they are not consumers. */
static int host_collect_workers(Host *h) {
        _cleanup_(hashmap_freep) Hashmap *by_master = hashmap_new_u64();
        if (!by_master)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_servers; i++)
                if (h->servers[i].master_pid > 0 &&
                    hashmap_put_u64(by_master, (uint64_t) h->servers[i].master_pid, &h->servers[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < h->procs.n; i++) {
                const Process *p = &h->procs.procs[i];
                WebServer *s = hashmap_get_u64(by_master, (uint64_t) p->ppid);
                if (!s || p->state == 'Z')
                        continue;
                if (p->argv && p->argv[0] && strstr(p->argv[0], "cache "))
                        continue;
                /* A backend the server spawns itself (lighttpd's bin-path: php-cgi) is its
                 * child, but what it connects to, not one of its workers. */
                if (program_is_app_server(process_program(p)))
                        continue;
                int r = server_add_worker(s, p);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < h->n_servers; i++) {
                WebServer *s = &h->servers[i];
                int r = s->master_pid > 0 ? reload_refusal_of(s->config.server, s->master_pid, &s->reload_refusal) : 0;
                if (r < 0)
                        return r;
                /* The configuration test before a reload (nginx -t, apache2 -t; Apache's
                 * graceful restart exits on a broken configuration) must test what the
                 * master runs: its binary and files, as sockfixd sees them. */
                if (s->master_pid > 0 && !s->reload_refusal) {
                        const Process *m = proc_table_find(&h->procs, s->master_pid);
                        const char *why = !m || !s->exe ? "its binary is not known" : process_files_differ(h, m);
                        if (why) {
                                log_debug("%s (pid %d): %s", s->config.server, (int) s->master_pid, why);
                                s->reload_refusal = "its configuration test could not test what it runs (its binary is "
                                                    "unknown or was replaced, or it runs in a mount namespace of its "
                                                    "own)";
                        }
                }
                if (s->n_workers > 0)
                        continue;
                if (s->master_pid > 0) {
                        const Process *m = proc_table_find(&h->procs, s->master_pid);
                        if (m)
                                r = server_add_worker(s, m);
                } else {
                        /* Stopped: the credentials its next start will give the workers. */
                        const char *user = s->config.user ?: server_packaged_user(s->config.server);
                        WorkerSet w = {};
                        r = creds_from_user(user, &w);
                        if (r >= 0) {
                                WorkerSet *nw = ARRAY_PUSH(s->workers, s->n_workers);
                                if (!nw) {
                                        free(w.groups);
                                        free(w.user);
                                        return -ENOMEM;
                                }
                                *nw = w;
                        } else {
                                free(w.groups);
                                free(w.user);
                                r = r == -ENOMEM ? r : 0;
                        }
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int host_scan_default_fpms(Host *h) {
        for (const char *const *g = fpm_default_globs; *g; g++) {
                glob_t gl = {};
                if (glob(*g, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &gl) == 0)
                        for (size_t i = 0; i < gl.gl_pathc; i++) {
                                int r = host_add_fpm(h, NULL, gl.gl_pathv[i]);
                                if (r < 0) {
                                        globfree(&gl);
                                        return r;
                                }
                        }
                globfree(&gl);
        }
        return 0;
}

static int host_scan_default_servers(Host *h) {
        for (ServerKind k = SERVER_NGINX; k <= SERVER_LIGHTTPD; k++) {
                int r = host_add_server(h, k, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A host of thousands of sites would hold each socket path three times between calls:
 * in the pool that declares it, in the web server's reference and in the socket table.
 * The references and the sockets borrow the pool's copy instead (all three are freed
 * with the host, and nothing reads a path while it is freed). NULL: no pool has it. */
static const char *pool_copy_of(const char *path, void *userdata) {
        const Host *h = userdata;
        const Pool *p = h->pools_by_path ? hashmap_get_str(h->pools_by_path, path) : NULL;
        return p ? p->listen : NULL;
}

static const char *pool_listen(const void *p) {
        return ((const Pool *) p)->listen;
}

static int host_index_pools(Host *h) {
        h->pools_by_path = hashmap_new_str_keyed(pool_listen);
        if (!h->pools_by_path)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_fpms; i++)
                for (size_t j = 0; j < h->fpms[i].config.n_pools; j++) {
                        const FpmPool *fp = &h->fpms[i].config.pools[j];
                        const char *path = fpm_pool_unix_path(fp);
                        if (!path)
                                continue;
                        Pool *p = ARRAY_PUSH(h->pools, h->n_pools);
                        if (!p)
                                return -ENOMEM;
                        *p = (Pool) { .fpm = &h->fpms[i], .cfg = fp, .listen = path };
                }
        /* Pointers into h->pools are taken only once the array has stopped growing. */
        for (size_t i = 0; i < h->n_pools; i++)
                if (hashmap_put_str(h->pools_by_path, h->pools[i].listen, &h->pools[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int host_index_refs(Host *h) {
        h->refs_by_path = hashmap_new_str();
        if (!h->refs_by_path)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_servers; i++)
                for (size_t j = 0; j < h->servers[i].config.n_refs; j++) {
                        const UnixRef *ref = &h->servers[i].config.refs[j];
                        if (hashmap_get_str(h->refs_by_path, ref->path))
                                continue;
                        const char **slot = ARRAY_PUSH(h->ref_paths, h->n_ref_paths);
                        if (!slot)
                                return -ENOMEM;
                        *slot = ref->path;
                        /* A placeholder until the lists, sized exactly, exist. */
                        if (hashmap_put_str(h->refs_by_path, ref->path, (void *) 1) < 0)
                                return -ENOMEM;
                }
        h->ref_lists = calloc(h->n_ref_paths ? h->n_ref_paths : 1, sizeof(RefList));
        if (!h->ref_lists)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_ref_paths; i++)
                if (hashmap_put_str(h->refs_by_path, h->ref_paths[i], &h->ref_lists[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < h->n_servers; i++)
                for (size_t j = 0; j < h->servers[i].config.n_refs; j++) {
                        RefList *l = hashmap_get_str(h->refs_by_path, h->servers[i].config.refs[j].path);
                        bool seen = false;
                        for (size_t k = 0; k < l->n && !seen; k++)
                                seen = l->servers[k] == i;
                        if (seen)
                                continue;
                        size_t *slot = INLINE_LIST_PUSH(l->servers, l->first, l->n);
                        if (!slot)
                                return -ENOMEM;
                        *slot = i;
                }
        for (size_t i = 0; i < h->socks.n; i++) {
                const UnixSocket *s = &h->socks.socks[i];
                const Process *m = host_listener_master(h, s);
                if (s->path && m && program_is_app_server(m->comm)) {
                        const char **slot = ARRAY_PUSH(h->listener_paths, h->n_listener_paths);
                        if (!slot)
                                return -ENOMEM;
                        *slot = s->path;
                }
        }
        return 0;
}

static Host *host_free(Host *h);

/* --- revalidation --- */

/* The last pid the kernel allocated in our pid namespace (5th field of loadavg, an fd
 * the model keeps); 0 if unknown, which makes every check scan. */
static long read_last_pid(int loadavg_fd) {
        char buf[128];
        ssize_t k = loadavg_fd >= 0 ? pread(loadavg_fd, buf, sizeof(buf) - 1, 0) : -1;
        if (k <= 0)
                return 0;
        buf[k] = 0;
        const char *last = strrchr(strstrip(buf), ' ');
        return last ? strtol(last + 1, NULL, 10) : 0;
}

/* Installations that do not exist yet appear under these directories. */
static const char *const default_watch_dirs[] = {
        "/etc", "/etc/php", "/etc/opt/remi", "/usr/local/etc", "/etc/nginx", "/etc/apache2", "/etc/httpd/conf",
        "/etc/caddy", "/etc/lighttpd", NULL,
};

static int watch_dir(Host *h, const char *dir) {
        if (hashmap_get_str(h->watch_dir_names, dir))
                return 0;
        int wd = inotify_add_watch(h->inotify_fd, dir,
                                   IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE |
                                           IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
        if (wd < 0)
                return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -errno;
        char *copy = strdup(dir);
        if (!copy || strv_consume(&h->watch_paths, copy) < 0)
                return -ENOMEM;
        if (hashmap_put_str(h->watch_dir_names, copy, (void *) 1) < 0 ||
            hashmap_put_u64(h->watch_dirs, (uint64_t) wd, copy) < 0)
                return -ENOMEM;
        return 0;
}

/* A set of file names: each is its own key. */
static const char *file_name_itself(const void *file) {
        return file;
}

/* file is borrowed: it is a config's own file name, which lives as long as the host. */
static int watch_file(Host *h, const char *file) {
        if (hashmap_get_str(h->watch_files, file))
                return 0;
        if (hashmap_put_str(h->watch_files, file, (void *) file) < 0)
                return -ENOMEM;
        _cleanup_free_ char *dir = strndup(file, (size_t) (strrchr(file, '/') ? strrchr(file, '/') - file : 0));
        if (!dir)
                return -ENOMEM;
        return watch_dir(h, *dir ? dir : "/");
}

/* inotify on the directory of every config file read: an edit, a new file that a glob
 * will include, a removal, all mark the model stale. Without inotify (no fds, watch
 * limit) the model is never reused. */
static int host_watch(Host *h, bool defaults) {
        h->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (h->inotify_fd < 0) {
                h->stale = true;
                return 0;
        }
        h->watch_dirs = hashmap_new_u64();
        h->watch_dir_names = hashmap_new_str();
        h->watch_files = hashmap_new_str_keyed(file_name_itself);
        if (!h->watch_dirs || !h->watch_dir_names || !h->watch_files)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; r >= 0 && i < h->n_fpms; i++) {
                if (h->fpms[i].config.main_file)
                        r = watch_file(h, h->fpms[i].config.main_file);
                for (char **f = h->fpms[i].config.files; r >= 0 && f && *f; f++)
                        r = watch_file(h, *f);
        }
        for (size_t i = 0; r >= 0 && i < h->n_servers; i++) {
                if (h->servers[i].config.main_file)
                        r = watch_file(h, h->servers[i].config.main_file);
                for (char **f = h->servers[i].config.files; r >= 0 && f && *f; f++)
                        r = watch_file(h, *f);
        }
        for (const char *const *d = default_watch_dirs; r >= 0 && defaults && *d; d++)
                r = watch_dir(h, *d);
        if (r == -ENOSPC) {
                /* The watch limit: correctness first, the model is rebuilt on every call. */
                h->stale = true;
                return 0;
        }
        return r;
}

static int check_watch(Host *h) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        for (;;) {
                ssize_t k = read(h->inotify_fd, buf, sizeof(buf));
                if (k < 0)
                        return errno == EAGAIN ? 0 : -errno;
                for (char *p = buf; p < buf + k;) {
                        const struct inotify_event *ev = (const void *) p;
                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_CREATE |
                                        IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) {
                                h->stale = true;
                                continue;
                        }
                        /* Writes to other files in a config directory (logs, pid files) do not count. */
                        const char *dir = hashmap_get_u64(h->watch_dirs, (uint64_t) ev->wd);
                        char path[PATH_MAX];
                        if (dir && ev->len > 0 &&
                            snprintf(path, sizeof(path), "%s/%s", streq_ptr(dir, "/") ? "" : dir, ev->name) <
                                    (int) sizeof(path) &&
                            hashmap_get_str(h->watch_files, path))
                                h->stale = true;
                }
        }
}

static bool known_running(const Host *h, const KnownProcess *k) {
        if (k->stat_fd >= 0)
                return proc_stat_fd_running(k->stat_fd, k->start);
        return h->proc_fd >= 0 && proc_still_running_at(h->proc_fd, k->pid, k->start);
}

static int check_known_processes(Host *h) {
        for (size_t i = 0; i < h->n_known; i++)
                if (!known_running(h, &h->known[i]))
                        return 0;
        return 1;
}

/* A busy host's web servers may run hundreds of workers: past this many, the rest are
 * looked up by pid, so the model never holds more than this many fds of /proc. */
#define HOST_KEPT_STAT_FDS 64

static int know_process(Host *h, pid_t pid, uint64_t start) {
        KnownProcess *k = ARRAY_PUSH(h->known, h->n_known);
        if (!k)
                return -ENOMEM;
        *k = (KnownProcess) { .pid = pid, .start = start, .stat_fd = -1 };
        if (h->n_known <= HOST_KEPT_STAT_FDS && h->proc_fd >= 0) {
                int fd = proc_stat_open(h->proc_fd, pid);
                if (fd >= 0)
                        k->stat_fd = fd;
        }
        /* Gone since the scan, or the pid is another process's by now. */
        if (!known_running(h, k))
                h->stale = true;
        return 0;
}

/* The processes whose exit or replacement makes the model stale: every master, and the
 * web workers (whose credentials are the consumers'). */
static int host_know_processes(Host *h) {
        for (size_t i = 0; i < h->n_fpms; i++)
                if (h->fpms[i].master_pid > 0 && know_process(h, h->fpms[i].master_pid, h->fpms[i].master_start) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < h->n_servers; i++) {
                const WebServer *s = &h->servers[i];
                if (s->master_pid > 0 && know_process(h, s->master_pid, s->master_start) < 0)
                        return -ENOMEM;
                for (size_t j = 0; j < s->n_workers; j++)
                        for (size_t k = 0; k < s->workers[j].n_pids; k++) {
                                const Process *p = proc_table_find(&h->procs, s->workers[j].pids[k]);
                                if (p && know_process(h, p->pid, p->start_time) < 0)
                                        return -ENOMEM;
                        }
        }
        return 0;
}

static bool pid_is_known_master(const Host *h, pid_t pid) {
        for (size_t i = 0; i < h->n_fpms; i++)
                if (h->fpms[i].master_pid == pid)
                        return true;
        const Process *p = proc_table_find(&h->procs, pid);
        return p && program_is_app_server(p->comm);
}

static bool pid_is_web_master(const Host *h, pid_t pid) {
        for (size_t i = 0; i < h->n_servers; i++)
                if (h->servers[i].master_pid == pid)
                        return true;
        return false;
}

/* Whether a process created since the model was built changes it: pool workers of a
 * known php-fpm (or another app server) do not; a new web worker, master or cache
 * daemon does. 1 harmless (or gone already), 0 it does. */
static int new_process_is_harmless(Host *h, int rfd, long pid) {
        char name[64];
        _cleanup_free_ char *stat_text = NULL, *comm = NULL;
        Process p = {};
        snprintf(name, sizeof(name), "%ld/stat", pid);
        if (read_full_file_at(rfd, name, 4096, &stat_text, NULL) < 0 || proc_stat_parse(stat_text, &p) < 0 ||
            p.state == 'Z')
                return 1;
        if (pid_is_known_master(h, p.ppid))
                return 1;
        if (pid_is_web_master(h, p.ppid))
                return 0;
        snprintf(name, sizeof(name), "%ld/comm", pid);
        if (read_full_file_at(rfd, name, 64, &comm, NULL) < 0)
                return 1;
        const char *c = strstrip(comm);
        return !(program_is_app_server(c) || program_is_fpm(c) || server_kind(c) != SERVER_NONE ||
                 streq_ptr(c, "nscd") || startswith(c, "sssd"));
}

/* A handful of new pids (our own probe children, say) are looked at one by one;
 * more, and /proc is listed once. */
#define NEW_PIDS_ONE_BY_ONE 64

static int check_new_processes(Host *h, long last) {
        if (h->proc_fd < 0)
                return 0;
        if (last - h->last_pid <= NEW_PIDS_ONE_BY_ONE) {
                for (long pid = h->last_pid + 1; pid <= last; pid++)
                        if (!new_process_is_harmless(h, h->proc_fd, pid))
                                return 0;
                return 1;
        }
        /* The listing needs an fd of its own: closedir() closes it. */
        _cleanup_close_ int rfd = openat(h->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;
        _cleanup_closedir_ DIR *d = fdopendir(TAKE_FD(rfd));
        if (!d)
                return -errno;
        struct dirent *de;
        while ((de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= h->last_pid || pid > last)
                        continue;
                if (!new_process_is_harmless(h, dirfd(d), pid))
                        return 0;
        }
        return 1;
}

int host_check_current(Host *h) {
        int r;
        if (h->stale || h->last_pid == 0)
                return 0;
        /* Built while the user database did not answer: workers named by number, a
         * stopped server without credentials. Built again once the lookup given up on
         * has ended (before, a new build would fail the same lookups at once). */
        if (h->nss_unanswered && nss_stuck() == 0)
                return 0;
        if ((r = check_watch(h)) < 0)
                return r;
        if (h->stale)
                return 0;
        long last = read_last_pid(h->loadavg_fd);
        if (last < h->last_pid) /* pids wrapped around: anything may have been reused */
                return 0;
        if ((r = check_known_processes(h)) <= 0)
                return r;
        if (last != h->last_pid) {
                if ((r = check_new_processes(h, last)) <= 0)
                        return r;
                h->last_pid = last;
        }
        return 1;
}

int host_refresh_sockets(Host *h) {
        int r = unix_sockets_refresh_queues(&h->socks);
        if (r != -EOPNOTSUPP)
                return r < 0 ? r : r > 0 ? 0 : -ESTALE;
        /* Without sock_diag: the socket set from /proc/net/unix (it has no queues). */
        _cleanup_(unix_sockets_done) UnixSocketTable now = {};
        r = unix_sockets_load(NULL, &now);
        if (r < 0)
                return r;
        if (now.n != h->socks.n)
                return -ESTALE;
        for (size_t i = 0; i < now.n; i++) {
                UnixSocket *s = (UnixSocket *) unix_sockets_by_sockino(&h->socks, now.socks[i].sock_ino);
                if (!s)
                        return -ESTALE;
                s->rqueue = now.socks[i].rqueue;
                s->backlog = now.socks[i].backlog;
        }
        return 0;
}

int host_listener_now(Host *h, dev_t dev, ino_t ino, bool may_load, const UnixSocket **ret) {
        UnixSocket *s = (UnixSocket *) unix_sockets_by_file(&h->socks, dev, ino);
        if (s) {
                UnixSocket now;
                int r = unix_socket_query(&h->sockdiag_fd, s->sock_ino, &now);
                if (r == -ENOENT)
                        return -ESTALE; /* it stopped listening since the model was built */
                if (r >= 0) {
                        s->rqueue = now.rqueue;
                        s->backlog = now.backlog;
                        free(now.path);
                }
                /* sock_diag unavailable (the /proc/net/unix fallback): the model's answer stands. */
                *ret = s;
                return 0;
        }
        /* Unknown to the model: something may have started listening there since. */
        if (!may_load)
                return -EAGAIN;
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};
        int r = unix_sockets_load(NULL, &t);
        if (r < 0)
                return r;
        if (unix_sockets_by_file(&t, dev, ino))
                return -ESTALE;
        *ret = NULL;
        return 0;
}

int host_load(const HostConfig *cfg, Host **ret) {
        Host *h = calloc(1, sizeof(Host));
        if (!h)
                return -ENOMEM;
        h->n_ref = 1;
        h->inotify_fd = -1;
        h->sockdiag_fd = -1;
        h->proc_fd = -1;
        h->loadavg_fd = -1;
        const char *proc_root = cfg && cfg->proc_root ? cfg->proc_root : "/proc";
        h->proc_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        h->loadavg_fd = h->proc_fd >= 0 ? openat(h->proc_fd, "loadavg", O_RDONLY | O_CLOEXEC) : -1;
        /* Read before the scan: whatever is created from now on makes the model suspect. */
        h->last_pid = read_last_pid(h->loadavg_fd);
        h->cache = cfg ? cfg->cache : NULL;
        h->proc_root = strdup(proc_root);
        h->path_share = (StrShare) { .find = pool_copy_of, .userdata = h };
        unsigned nss_timeouts_before = nss_timeouts();
        bool defaults = cfg && cfg->scan_distro_defaults;
        int r = h->proc_root ? proc_table_load(proc_root, &h->procs) : -ENOMEM;
        /* Pools first: the web servers' references and the socket table borrow their paths. */
        if (r >= 0)
                r = host_scan_processes(h, true);
        if (r >= 0 && defaults)
                r = host_scan_default_fpms(h);
        if (r >= 0)
                r = host_index_pools(h);
        if (r >= 0)
                r = host_scan_processes(h, false);
        if (r >= 0 && defaults)
                r = host_scan_default_servers(h);
        if (r >= 0)
                r = host_collect_workers(h);
        if (r >= 0)
                r = host_know_processes(h);
        if (r >= 0)
                r = unix_sockets_load(&h->path_share, &h->socks);
        if (r >= 0)
                r = unix_sockets_map_pids_of(&h->socks, &h->procs, proc_root, process_is_app_server);
        if (r >= 0)
                r = host_index_refs(h);
        if (r >= 0)
                r = host_watch(h, cfg && cfg->scan_distro_defaults);
        if (r < 0) {
                host_free(h);
                return r;
        }
        h->nss_unanswered = nss_timeouts() != nss_timeouts_before;
        *ret = h;
        return 0;
}

Host *host_ref(Host *h) {
        if (h)
                h->n_ref++;
        return h;
}

Host *host_unref(Host *h) {
        if (h && --h->n_ref == 0)
                host_free(h);
        return NULL;
}

bool host_all_pids_mapped(const Host *h) {
        return h->all_pids_mapped;
}

int host_map_all_pids(Host *h) {
        if (h->all_pids_mapped)
                return 0;
        h->all_pids_mapped = true;
        return unix_sockets_map_pids(&h->socks, &h->procs, h->proc_root);
}

static Host *host_free(Host *h) {
        if (!h)
                return NULL;
        /* The indexes first: their keys are borrowed from the configs and the socket table. */
        for (size_t i = 0; h->ref_lists && i < h->n_ref_paths; i++)
                if (h->ref_lists[i].servers != &h->ref_lists[i].first)
                        free(h->ref_lists[i].servers);
        free(h->ref_lists);
        hashmap_free(h->refs_by_path);
        hashmap_free(h->file_trust);
        hashmap_free(h->pools_by_path);
        free(h->ref_paths);
        free(h->listener_paths);
        free(h->proc_root);
        if (h->inotify_fd >= 0)
                close(h->inotify_fd);
        if (h->sockdiag_fd >= 0)
                close(h->sockdiag_fd);
        if (h->proc_fd >= 0)
                close(h->proc_fd);
        if (h->loadavg_fd >= 0)
                close(h->loadavg_fd);
        for (size_t i = 0; i < h->n_known; i++)
                if (h->known[i].stat_fd >= 0)
                        close(h->known[i].stat_fd);
        free(h->known);
        hashmap_free(h->watch_dirs);
        hashmap_free(h->watch_dir_names);
        hashmap_free(h->watch_files);
        strv_free(h->watch_paths);
        for (size_t i = 0; i < h->n_fpms; i++) {
                fpm_config_done(&h->fpms[i].config);
                free(h->fpms[i].program);
                free(h->fpms[i].exe);
        }
        free(h->fpms);
        free(h->pools);
        for (size_t i = 0; i < h->n_servers; i++) {
                WebServer *s = &h->servers[i];
                web_config_done(&s->config);
                free(s->exe);
                strv_free(s->master_argv);
                strv_free(s->master_env);
                for (size_t j = 0; j < s->n_workers; j++) {
                        free(s->workers[j].user);
                        free(s->workers[j].groups);
                        free(s->workers[j].pids);
                }
                free(s->workers);
        }
        free(h->servers);
        strv_free(h->distrusted);
        unix_sockets_done(&h->socks);
        proc_table_done(&h->procs);
        free(h);
        return NULL;
}

const Pool *host_pool_by_path(const Host *h, const char *path) {
        return hashmap_get_str(h->pools_by_path, path);
}

const RefList *host_refs_by_path(const Host *h, const char *path) {
        return hashmap_get_str(h->refs_by_path, path);
}

/* Whether only root can change file: asked once per file and model (h->file_trust:
 * (void *) 1 yes, (void *) 2 no). The cache borrows file as its key: a name the model
 * holds (a config's file list), never one built for a single call. */
static bool file_root_only(Host *h, const char *file) {
        if (!file)
                return false;
        if (!h->file_trust && !(h->file_trust = hashmap_new_str()))
                return false;
        void *v = hashmap_get_str(h->file_trust, file);
        if (v)
                return v == (void *) 1;
        bool ok = path_only_root_can_change(file, NULL) == 1;
        (void) hashmap_put_str(h->file_trust, file, ok ? (void *) 1 : (void *) 2); /* on -ENOMEM: asked again */
        return ok;
}

bool host_path_named_by_root(Host *h, const char *path) {
        const Pool *p = host_pool_by_path(h, path);
        const FpmKey *k = p ? fpm_pool_key(p->cfg, "listen") : NULL;
        if (p && file_root_only(h, k ? k->file : p->cfg->file))
                return true;
        const RefList *refs = host_refs_by_path(h, path);
        for (size_t i = 0; refs && i < refs->n; i++) {
                const WebConfig *c = &h->servers[refs->servers[i]].config;
                for (size_t j = 0; j < c->n_refs; j++)
                        if (streq_ptr(c->refs[j].path, path) && file_root_only(h, c->refs[j].file))
                                return true;
        }
        return false;
}

const UnixSocket *host_listener_for(const Host *h, dev_t dev, ino_t ino) {
        return unix_sockets_by_file(&h->socks, dev, ino);
}

const Process *host_listener_master(const Host *h, const UnixSocket *s) {
        /* The holder whose parent does not hold the socket too: php-fpm's master, not
         * the pm=static children that inherited the listening fd. */
        for (size_t i = 0; i < s->n_pids; i++) {
                const Process *p = proc_table_find(&h->procs, s->pids[i]);
                if (!p)
                        continue;
                bool parent_holds = false;
                for (size_t j = 0; j < s->n_pids && !parent_holds; j++)
                        parent_holds = s->pids[j] == p->ppid;
                if (!parent_holds)
                        return p;
        }
        return NULL;
}
