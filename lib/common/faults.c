/* Fault-injection hooks for the tests (issue 18): `make check-oom` fails the n-th allocation,
 * the crash test kills the process at the n-th write-path system call. Inert unless a test arms
 * them; an armed hook costs one relaxed atomic operation per allocation or system call. */
#include <signal.h>
#include <stdatomic.h>

#include "common.h"

static atomic_llong alloc_count, alloc_fail_at, write_count, write_kill_at;

void vi__fault_fail_alloc_at(int64_t n) {
    atomic_store(&alloc_count, 0);
    atomic_store(&alloc_fail_at, n);
}

int64_t vi__fault_alloc_count(void) { return atomic_load(&alloc_count); }

int vi__fault_alloc_fails(void) {
    const long long at = atomic_load_explicit(&alloc_fail_at, memory_order_relaxed);
    const long long n = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    return at > 0 && n == at;
}

void vi__fault_kill_at_write(int64_t n) {
    atomic_store(&write_count, 0);
    atomic_store(&write_kill_at, n);
}

int64_t vi__fault_write_count(void) { return atomic_load(&write_count); }

void vi__fault_point(void) {
    const long long at = atomic_load_explicit(&write_kill_at, memory_order_relaxed);
    const long long n = atomic_fetch_add_explicit(&write_count, 1, memory_order_relaxed) + 1;
    if (at > 0 && n == at) raise(SIGKILL); /* a test's simulated crash, never armed otherwise */
}
