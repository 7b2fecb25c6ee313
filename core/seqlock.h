/* SPDX-License-Identifier: MIT */
/*
 * A sequence lock: signal handlers read tables that threads may be
 * changing, and a handler may take no lock. Writers (serialized by a mutex
 * of their own, with signals blocked in their thread) make the count odd
 * while they change the data; a reader copies the data and tries again if
 * the count moved.
 */
#ifndef PIDLOCK_SEQLOCK_H
#define PIDLOCK_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>

static inline unsigned seqlock_read_begin(atomic_uint *seq)
{
	unsigned begin;

	while ((begin = atomic_load_explicit(seq, memory_order_acquire)) & 1)
		;
	return begin;
}

static inline bool seqlock_read_retry(atomic_uint *seq, unsigned begin)
{
#ifdef __SANITIZE_THREAD__
	/* ThreadSanitizer does not model fences (gcc refuses them) */
	return atomic_load_explicit(seq, memory_order_seq_cst) != begin;
#else
	/* the copy must be complete before the count is read again */
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(seq, memory_order_relaxed) != begin;
#endif
}

static inline void seqlock_write_begin(atomic_uint *seq)
{
	atomic_fetch_add_explicit(seq, 1, memory_order_acq_rel);
}

static inline void seqlock_write_end(atomic_uint *seq)
{
	atomic_fetch_add_explicit(seq, 1, memory_order_release);
}

#endif
