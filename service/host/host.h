/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host model: what runs and what the configs say, assembled once per call
 * from one pass over /proc, one sock_diag dump and the config files the running
 * masters name (then distro defaults for stopped installations). Everything the
 * engine matches per socket is indexed by hash, so a sweep over thousands of pools
 * stays linear. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fpm-config.h"
#include "proc.h"
#include "sockdiag.h"
#include "util/hashmap.h"
#include "web-config.h"

typedef struct FpmInstance {
        FpmConfig config;
        bool loaded;       /* config parsed */
        pid_t master_pid;  /* 0 when not running */
        uint64_t master_start;
        uint64_t mnt_ns;
        char *program;     /* e.g. "php-fpm8.2" */
        char *exe;         /* binary (config tests, ACL support) */
        bool acl_supported;
} FpmInstance;

typedef struct Pool {
        FpmInstance *fpm;
        const FpmPool *cfg;
        const char *listen; /* absolute unix path (owned by cfg) */
} Pool;

/* One credential set of one web server's workers. */
typedef struct WorkerSet {
        char *user;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        pid_t *pids;
        size_t n_pids;
        uint64_t mnt_ns;
        const Process *first; /* the set's first worker (credentials to compare); NULL when stopped */
} WorkerSet;

typedef struct WebServer {
        WebConfig config;
        bool loaded;
        pid_t master_pid;  /* 0 when not running */
        uint64_t master_start;
        char *exe;
        char **master_argv; /* original options (-c/-p/-g) of a running master */
        char **master_env;  /* Apache: a running master's environment (its ${VAR}s; apache2 -t needs them) */
        WorkerSet *workers;
        size_t n_workers;
        /* Why sockfix makes no reload of it (reload_refusal_of()); NULL: it can, or the
         * server is stopped (its next start gives the workers their groups). */
        const char *reload_refusal;
} WebServer;

/* A process the model depends on (a php-fpm or web-server master, a web worker): its
 * stat file kept open makes the check that it still runs one pread(). */
typedef struct KnownProcess {
        pid_t pid;
        uint64_t start;
        int stat_fd; /* -1: looked up by pid (beyond HOST_KEPT_STAT_FDS) */
} KnownProcess;

/* What outlives one call: facts that depend only on a file's identity. */
typedef struct HostCache HostCache;
HostCache *host_cache_new(void);
HostCache *host_cache_free(HostCache *c);

typedef struct HostConfig {
        const char *proc_root;
        bool scan_distro_defaults;
        HostCache *cache; /* optional */
} HostConfig;

typedef struct Host {
        ProcTable procs;
        UnixSocketTable socks;
        FpmInstance *fpms;
        size_t n_fpms;
        Pool *pools;
        size_t n_pools;
        WebServer *servers;
        size_t n_servers;
        Hashmap *pools_by_path;   /* listen path -> Pool* (last declaration wins) */
        Hashmap *refs_by_path;    /* referenced path -> RefList* (into ref_lists) */
        Hashmap *file_trust;      /* config file -> whether only root can change it (host_path_named_by_root) */
        /* Borrowed from the configs and the socket table, which the host owns. */
        const char **ref_paths;   /* every referenced unix path, first-seen order */
        struct RefList *ref_lists; /* the servers referencing ref_paths[i] */
        size_t n_ref_paths;
        const char **listener_paths; /* bind paths of listening sockets held by FastCGI/app servers */
        size_t n_listener_paths;
        bool nscd_running;
        bool sssd_running;
        bool all_pids_mapped; /* else only app servers' fds were read */
        char *proc_root;
        HostCache *cache;
        StrShare path_share;  /* the pools' socket paths, lent to the references and the socket table */
        unsigned n_ref;
        /* Revalidation state. */
        long last_pid;        /* /proc/loadavg's last allocated pid when the model was built */
        int inotify_fd;       /* watches the directories of every config file read; -1: none */
        int sockdiag_fd;      /* netlink socket for single-socket queries, opened on first use */
        int proc_fd;          /* the proc root, for liveness checks */
        int loadavg_fd;       /* its loadavg, read at each check */
        KnownProcess *known;  /* the masters and web workers the model was built from */
        size_t n_known;
        Hashmap *watch_dirs;      /* watch descriptor -> directory path */
        Hashmap *watch_dir_names; /* directory paths watched */
        Hashmap *watch_files;     /* config file paths (borrowed from the configs) */
        char **watch_paths;       /* owns the directory paths */
        char **distrusted;        /* "UID:CONFIG" of servers not run by root that failed their user check */
        bool stale;
        bool nss_unanswered;  /* a lookup of the user database timed out while it was built (sys/nss.h) */
} Host;

/* Servers referencing a path: indexes into host->servers. Nearly every path has one
 * server, kept in first (servers points at it): no allocation per path. */
typedef struct RefList {
        size_t *servers;
        size_t n;
        size_t first;
} RefList;

int host_load(const HostConfig *cfg, Host **ret);
/* A model is shared: the engine caches one, a running fix keeps the one it planned on. */
Host *host_ref(Host *h);
Host *host_unref(Host *h);
static inline void host_unrefp(Host **h) {
        host_unref(*h);
}

/* Whether the model still describes the system: no config file it read (or a
 * directory they live in) changed, no master or web worker exited or was replaced,
 * and no process that could be one was started; nor, for a model built while the user
 * database did not answer (sys/nss.h), does it answer again. Cheap: an inotify read, a read of
 * /proc/loadavg, one /proc/PID/stat per master and web worker, and a /proc listing
 * only when processes were created. 1 current, 0 stale, negative errno. */
int host_check_current(Host *h);
/* For a sweep: a fresh sock_diag dump. The queues are updated in place; a socket the
 * model does not know means -ESTALE (rebuild). */
int host_refresh_sockets(Host *h);
/* For one socket: the listener bound to (dev, ino) as the kernel has it now, queue
 * included; NULL if none. -ESTALE when the model is out of date for it. A socket the
 * model does not know takes a read of the whole socket table: without may_load, -EAGAIN. */
int host_listener_now(Host *h, dev_t dev, ino_t ino, bool may_load, const UnixSocket **ret);

const Pool *host_pool_by_path(const Host *h, const char *path);
const RefList *host_refs_by_path(const Host *h, const char *path);
/* Whether a pool's listen or a web server's reference names path in a file only root
 * can change (sys/safe-fs.h path_only_root_can_change()): a path a user's own config
 * names (an include or a pool file the user may write) is that user's choice, not the
 * host's. Each file is walked once per model. */
bool host_path_named_by_root(Host *h, const char *path);

/* The listening socket bound to this file and the program that serves it. */
const UnixSocket *host_listener_for(const Host *h, dev_t dev, ino_t ino);
/* Listeners found by host_load() are those of app servers; a socket held by anything
 * else gets its holders once this reads every process's fds (done at most once). */
int host_map_all_pids(Host *h);
bool host_all_pids_mapped(const Host *h);
/* The topmost process holding the socket (the master), or NULL. */
const Process *host_listener_master(const Host *h, const UnixSocket *s);
/* Whether a program is a FastCGI/application server that sockfix may change sockets of. */
bool program_is_app_server(const char *comm);
bool program_speaks_fastcgi(const char *comm);
