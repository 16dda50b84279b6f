/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The driver linked into every fuzz target when libFuzzer is not used (gcc, CI): it
 * feeds each corpus file to LLVMFuzzerTestOneInput (regressions), then a deterministic
 * run of mutations of them (a smoke test that finds shallow bugs on every build).
 *
 *   fuzz-TARGET CORPUS_DIR_OR_FILE...
 *   FUZZ_ITERATIONS (default 2000), FUZZ_SEED (default fixed), FUZZ_TIMEOUT seconds per
 *   input (default 10), FUZZ_ARTIFACT_DIR (default /tmp): where a crashing or hanging
 *   input is saved.
 *
 * A crash, a sanitizer report (UBSan is made to halt) or a broken FUZZ_CHECK ends the
 * process non-zero; the input is saved first and its file name printed. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util/util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#define MAX_INPUT_SIZE (1u << 20)
#define DEFAULT_ITERATIONS 2000u
#define DEFAULT_SEED UINT64_C(0x5eedf00dcafe1234)
#define DEFAULT_TIMEOUT 10u

typedef struct Input {
        uint8_t *data;
        size_t size;
} Input;

/* UBSan only prints and goes on by default: make a report end the run like ASan's. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
        return "halt_on_error=1:print_stacktrace=1";
}

/* libFuzzer's default memory limits: an input that makes a parser allocate gigabytes is a
 * bug (the daemon would be OOM-killed), reported before it takes the machine's memory. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
        return "malloc_limit_mb=2048:hard_rss_limit_mb=2048";
}

static const char *target;
static char artifact[4096];
/* The input being run, for the crash and timeout handlers. */
static const uint8_t *volatile cur_data;
static volatile size_t cur_size;
static volatile sig_atomic_t saved;

/* Async-signal-safe: runs from signal handlers and the sanitizers' death callback. */
static void save_current_input(const char *why) {
        if (saved || !cur_data)
                return;
        saved = 1;
        int fd = open(artifact, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const char *msg[] = { "\n", target, ": ", why, ": input saved to ", artifact, "\n" };
        if (fd >= 0) {
                for (size_t off = 0; off < cur_size;) {
                        ssize_t k = write(fd, cur_data + off, cur_size - off);
                        if (k <= 0)
                                break;
                        off += (size_t) k;
                }
                close(fd);
        } else
                msg[4] = ": could not save the input to ";
        for (size_t i = 0; i < ELEMENTSOF(msg); i++)
                if (write(STDERR_FILENO, msg[i], strlen(msg[i])) < 0)
                        break;
}

static void on_fatal_signal(int sig) {
        save_current_input(sig == SIGALRM ? "timeout" : "crash");
        signal(SIGABRT, SIG_DFL);
        /* A timeout becomes an abort; a crash signal is raised again by its default action. */
        if (sig == SIGALRM)
                abort();
        raise(sig);
}

#ifdef FUZZ_ASAN
static void on_sanitizer_death(void) {
        save_current_input("sanitizer report");
}
#endif

static void install_handlers(void) {
        struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND | SA_NODEFER };
        sigaction(SIGALRM, &sa, NULL);
        sigaction(SIGABRT, &sa, NULL);
#ifdef FUZZ_ASAN
        /* ASan reports SEGV itself, with the stack; it calls back before dying. */
        __sanitizer_set_death_callback(on_sanitizer_death);
#else
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        sigaction(SIGFPE, &sa, NULL);
        sigaction(SIGILL, &sa, NULL);
#endif
}

static uint64_t rng_state;

/* xorshift64*: the same sequence on every machine for a given seed. */
static uint64_t rng(void) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

static size_t rng_below(size_t n) {
        return n ? (size_t) (rng() % n) : 0;
}

static unsigned long env_ulong(const char *name, unsigned long def) {
        const char *s = getenv(name);
        if (isempty(s))
                return def;
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 0);
        if (errno != 0 || *end) {
                fprintf(stderr, "%s: invalid %s=%s\n", target, name, s);
                exit(EXIT_FAILURE);
        }
        return v;
}

static void run_one(const uint8_t *data, size_t size, unsigned timeout) {
        /* An exact-size heap copy: ASan sees a read one byte past the end. */
        uint8_t *copy = malloc(size ? size : 1);
        if (!copy) {
                fprintf(stderr, "%s: out of memory\n", target);
                exit(EXIT_FAILURE);
        }
        memcpy(copy, data, size);
        cur_data = copy;
        cur_size = size;
        alarm(timeout);
        LLVMFuzzerTestOneInput(copy, size);
        alarm(0);
        cur_data = NULL;
        free(copy);
}

static void add_input(Input **inputs, size_t *n, uint8_t *data, size_t size) {
        Input *in = ARRAY_PUSH(*inputs, *n);
        if (!in) {
                fprintf(stderr, "%s: out of memory\n", target);
                exit(EXIT_FAILURE);
        }
        *in = (Input) { data, size };
}

static void load_file(Input **inputs, size_t *n, const char *path) {
        char *text;
        size_t size;
        int r = read_full_file_at(AT_FDCWD, path, MAX_INPUT_SIZE, &text, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s: %s\n", target, path, strerror(-r));
                exit(EXIT_FAILURE);
        }
        add_input(inputs, n, (uint8_t *) text, size);
}

/* A directory's regular files, in name order, so that runs are reproducible. */
static void load_corpus(Input **inputs, size_t *n, const char *path) {
        struct stat st;
        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s: %m\n", target, path);
                exit(EXIT_FAILURE);
        }
        if (!S_ISDIR(st.st_mode)) {
                load_file(inputs, n, path);
                return;
        }
        struct dirent **names;
        int k = scandir(path, &names, NULL, alphasort);
        if (k < 0) {
                fprintf(stderr, "%s: %s: %m\n", target, path);
                exit(EXIT_FAILURE);
        }
        for (int i = 0; i < k; i++) {
                _cleanup_free_ char *p = NULL;
                if (names[i]->d_name[0] != '.' && asprintf(&p, "%s/%s", path, names[i]->d_name) >= 0 &&
                    stat(p, &st) == 0 && S_ISREG(st.st_mode))
                        load_file(inputs, n, p);
                free(names[i]);
        }
        free(names);
}

/* Bytes that mean something to at least one of the grammars. */
static const char *const tokens[] = {
        "\n", " ", "\"", "'", "\\", "{", "}", ";", "#", "=", "[", "]", "<", ">", "/", "*", "$", "${",
        "include ", "Include ", "import ", "unix:", "unix//", "\\\n", "=>", "+", "(", ")", "\0",
};

static void mutate(Input *m, const Input *inputs, size_t n_inputs) {
        unsigned steps = 1 + (unsigned) rng_below(4);
        for (unsigned s = 0; s < steps; s++) {
                size_t pos = rng_below(m->size + 1);
                switch (rng_below(7)) {
                case 0: /* flip a bit */
                        if (m->size > 0)
                                m->data[rng_below(m->size)] ^= (uint8_t) (1u << rng_below(8));
                        break;
                case 1: /* overwrite a byte */
                        if (m->size > 0)
                                m->data[rng_below(m->size)] = (uint8_t) rng();
                        break;
                case 2: { /* insert random bytes */
                        size_t k = 1 + rng_below(8);
                        memmove(m->data + pos + k, m->data + pos, m->size - pos);
                        for (size_t i = 0; i < k; i++)
                                m->data[pos + i] = (uint8_t) rng();
                        m->size += k;
                        break;
                }
                case 3: { /* insert a token */
                        const char *t = tokens[rng_below(ELEMENTSOF(tokens))];
                        size_t k = t[0] ? strlen(t) : 1;
                        memmove(m->data + pos + k, m->data + pos, m->size - pos);
                        memcpy(m->data + pos, t, k);
                        m->size += k;
                        break;
                }
                case 4: { /* delete a range */
                        size_t k = rng_below(1 + (rng_below(2) ? 16 : m->size - pos));
                        if (k > m->size - pos)
                                k = m->size - pos;
                        memmove(m->data + pos, m->data + pos + k, m->size - pos - k);
                        m->size -= k;
                        break;
                }
                case 5: { /* repeat a range in place */
                        if (m->size == 0)
                                break;
                        size_t from = rng_below(m->size), k = 1 + rng_below(m->size - from);
                        if (k > 256)
                                k = 256;
                        memmove(m->data + pos + k, m->data + pos, m->size - pos);
                        memmove(m->data + pos, m->data + from + (from >= pos ? k : 0), k);
                        m->size += k;
                        break;
                }
                default: { /* splice in a piece of another input */
                        const Input *o = &inputs[rng_below(n_inputs)];
                        if (o->size == 0)
                                break;
                        size_t from = rng_below(o->size), k = 1 + rng_below(o->size - from);
                        if (k > 4096)
                                k = 4096;
                        memmove(m->data + pos + k, m->data + pos, m->size - pos);
                        memcpy(m->data + pos, o->data + from, k);
                        m->size += k;
                        break;
                }
                }
        }
}

int main(int argc, char *argv[]) {
        _cleanup_free_ Input *inputs = NULL;
        size_t n_inputs = 0;

        target = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        if (argc < 2) {
                fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", target);
                return EXIT_FAILURE;
        }
        unsigned long iterations = env_ulong("FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
        rng_state = env_ulong("FUZZ_SEED", DEFAULT_SEED) ?: DEFAULT_SEED;
        unsigned timeout = (unsigned) env_ulong("FUZZ_TIMEOUT", DEFAULT_TIMEOUT);
        const char *dir = getenv("FUZZ_ARTIFACT_DIR") ?: "/tmp";
        snprintf(artifact, sizeof artifact, "%s/%s-crash-%d", dir, target, (int) getpid());

        for (int i = 1; i < argc; i++)
                load_corpus(&inputs, &n_inputs, argv[i]);

        /* Inputs naming /dev/stdin or /proc/self/fd/0 meet a FIFO that never gets data:
         * a parser that opened it would hang here instead of in the daemon. */
        int fifo[2];
        if (pipe(fifo) < 0 || dup2(fifo[0], STDIN_FILENO) < 0) {
                fprintf(stderr, "%s: stdin as a FIFO: %m\n", target);
                return EXIT_FAILURE;
        }
        fuzz_drop_root();
        install_handlers();

        for (size_t i = 0; i < n_inputs; i++)
                run_one(inputs[i].data, inputs[i].size, timeout);

        /* Room for the largest input plus what mutate() may add in four steps. */
        size_t cap = 16 * 4096;
        for (size_t i = 0; i < n_inputs; i++)
                if (inputs[i].size * 2 + 16 * 4096 > cap)
                        cap = inputs[i].size * 2 + 16 * 4096;
        _cleanup_free_ uint8_t *buf = malloc(cap);
        if (!buf) {
                fprintf(stderr, "%s: out of memory\n", target);
                return EXIT_FAILURE;
        }
        Input empty = { NULL, 0 };
        for (unsigned long it = 0; it < iterations; it++) {
                const Input *base = n_inputs > 0 ? &inputs[rng_below(n_inputs)] : &empty;
                Input m = { buf, base->size };
                if (base->size)
                        memcpy(buf, base->data, base->size);
                mutate(&m, n_inputs > 0 ? inputs : &empty, n_inputs > 0 ? n_inputs : 1);
                run_one(m.data, m.size, timeout);
        }

        printf("%s: %zu corpus inputs, %lu mutations, 0 crashes\n", target, n_inputs, iterations);
        for (size_t i = 0; i < n_inputs; i++)
                free(inputs[i].data);
        return EXIT_SUCCESS;
}
