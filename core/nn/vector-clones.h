/* Element-wise kernels that are memory- and divide-bound (optimiser
 * updates, activation derivatives) gain 2–4× from AVX2 / AVX-512 over the
 * baseline x86-64 SSE2 the library is built for. AFFECT_VECTOR_CLONES
 * compiles such a function once per instruction set and lets the dynamic
 * loader pick the widest the CPU has. Files that use it turn off
 * floating-point contraction so that no clone fuses a multiply and an
 * add: every clone then gives the same bits as the baseline. */
#ifndef AFFECT_VECTOR_CLONES_H
#define AFFECT_VECTOR_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) \
    && defined(__linux__)
#pragma GCC optimize ("fp-contract=off")
#define AFFECT_VECTOR_CLONES \
  __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define AFFECT_VECTOR_CLONES
#endif

#endif
