/* check.h: counting checks for every test program, GPU or not: a failed check prints one
 * line saying what; check_finish prints "NAME: N passed, M failed" (the line CI reads) and
 * gives the exit code. */
#ifndef VKSEEK_TEST_CHECK_H
#define VKSEEK_TEST_CHECK_H

/* Records a check; returns ok. */
int check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int check_finish(const char *name);

#endif
