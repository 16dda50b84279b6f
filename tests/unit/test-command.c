/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include "sys/command.h"
#include "util/util.h"

static void test_output_and_exit_code(void **state) {
        (void) state;
        char *const argv[] = { (char *) "sh", (char *) "-c", (char *) "echo out; echo err >&2; exit 3", NULL };
        CommandResult res = {};
        assert_int_equal(command_run(argv, 5000, &res), 0);
        assert_int_equal(res.exit_code, 3);
        assert_false(res.timed_out);
        assert_string_equal(res.output, "out\nerr\n");
        command_result_done(&res);
}

static void test_environment_is_empty(void **state) {
        (void) state;
        setenv("SOCKFIX_LEAK", "secret", 1);
        char *const argv[] = { (char *) "/usr/bin/env", NULL };
        CommandResult res = {};
        assert_int_equal(command_run(argv, 5000, &res), 0);
        assert_int_equal(res.exit_code, 0);
        assert_string_equal(res.output, "PATH=" COMMAND_PATH "\n");
        command_result_done(&res);
        unsetenv("SOCKFIX_LEAK");
}

/* A configuration test gets its master's environment, but never another PATH, nor
 * what steers the loader or talks to a service manager. */
static void test_environment_given(void **state) {
        (void) state;
        setenv("SOCKFIX_LEAK", "secret", 1);
        char *const argv[] = { (char *) "/usr/bin/env", NULL };
        char *const env[] = { (char *) "APACHE_RUN_USER=www-data", (char *) "PATH=/tmp/evil",
                              (char *) "LD_PRELOAD=/tmp/evil.so", (char *) "GCONV_PATH=/tmp", (char *) "NOTIFY_SOCKET=/run/x",
                              (char *) "MALFORMED", NULL };
        CommandResult res = {};
        assert_int_equal(command_run_env(argv, env, 5000, &res), 0);
        assert_string_equal(res.output, "PATH=" COMMAND_PATH "\nAPACHE_RUN_USER=www-data\n");
        command_result_done(&res);
        unsetenv("SOCKFIX_LEAK");
}

/* A Fix's configuration test: started, polled without ever blocking, its answer once it
 * ended; a job given up on is killed and reaped at once. */
static void test_start_and_poll(void **state) {
        (void) state;
        char *const argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "sleep 0.2; echo done; exit 4", NULL };
        CommandJob *j = NULL;
        CommandResult res = {};
        assert_int_equal(command_start(argv, NULL, 5000, &j), 0);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(command_poll(j, &res), -EAGAIN);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 100); /* did not wait */
        int r, polls = 0;
        while ((r = command_poll(j, &res)) == -EAGAIN) {
                polls++;
                struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        assert_int_equal(r, 0);
        assert_true(polls > 0);
        assert_int_equal(res.exit_code, 4);
        assert_string_equal(res.output, "done\n");
        command_result_done(&res);
        command_job_free(j);

        char *const forever[] = { (char *) "/bin/sleep", (char *) "60", NULL };
        assert_int_equal(command_start(forever, NULL, 60000, &j), 0);
        assert_int_equal(command_poll(j, &res), -EAGAIN);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        command_job_free(j);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(t1.tv_sec - t0.tv_sec < 2);
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* reaped: no child left */
        assert_int_equal(errno, ECHILD);
}

static void test_timeout_kills_and_reaps(void **state) {
        (void) state;
        /* The grandchild holds the pipe too: the whole process group must die. */
        char *const argv[] = { (char *) "sh", (char *) "-c", (char *) "echo started; sleep 30 & sleep 30", NULL };
        CommandResult res = {};
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(command_run(argv, 300, &res), -ETIMEDOUT);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_true(res.timed_out);
        assert_int_equal(res.exit_code, 128 + SIGKILL);
        assert_string_equal(res.output, "started\n");
        assert_true(b.tv_sec - a.tv_sec < 5);
        command_result_done(&res);
        /* Nothing left to reap: every child was waited for. */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static void test_child_outlives_its_output(void **state) {
        (void) state;
        char *const argv[] = { (char *) "sh", (char *) "-c", (char *) "exec >/dev/null 2>&1; sleep 30", NULL };
        CommandResult res = {};
        assert_int_equal(command_run(argv, 300, &res), -ETIMEDOUT);
        assert_true(res.timed_out);
        assert_string_equal(res.output, "");
        command_result_done(&res);
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

static void test_output_is_capped(void **state) {
        (void) state;
        char *const argv[] = { (char *) "sh", (char *) "-c", (char *) "head -c 200000 /dev/zero | tr '\\0' x", NULL };
        CommandResult res = {};
        assert_int_equal(command_run(argv, 5000, &res), 0);
        assert_int_equal(res.exit_code, 0);
        assert_int_equal(res.output_size, COMMAND_OUTPUT_MAX);
        assert_int_equal(strlen(res.output), COMMAND_OUTPUT_MAX);
        command_result_done(&res);
}

static void test_missing_program(void **state) {
        (void) state;
        char *const argv1[] = { (char *) "sockfix-no-such-program", NULL };
        char *const argv2[] = { (char *) "/nonexistent/prog", NULL };
        CommandResult res = {};
        assert_int_equal(command_run(argv1, 1000, &res), -ENOENT);
        assert_int_equal(command_run(argv2, 1000, &res), -ENOENT);
        assert_int_equal(command_run(NULL, 1000, &res), -EINVAL);
}

static void test_killed_by_signal(void **state) {
        (void) state;
        char *const argv[] = { (char *) "sh", (char *) "-c", (char *) "kill -TERM $$", NULL };
        CommandResult res = {};
        /* The daemon blocks signals; the child must still get default dispositions. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        assert_int_equal(command_run(argv, 5000, &res), 0);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        assert_int_equal(res.exit_code, 128 + SIGTERM);
        command_result_done(&res);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_output_and_exit_code),
                cmocka_unit_test(test_environment_is_empty),
                cmocka_unit_test(test_environment_given),
                cmocka_unit_test(test_start_and_poll),
                cmocka_unit_test(test_timeout_kills_and_reaps),
                cmocka_unit_test(test_child_outlives_its_output),
                cmocka_unit_test(test_output_is_capped),
                cmocka_unit_test(test_missing_program),
                cmocka_unit_test(test_killed_by_signal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
