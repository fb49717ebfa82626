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
/* GCC 12 turns the conversion of a vector of 8 floats to 8 doubles
 * (__builtin_convertvector) into two 4-wide conversions and an insert
 * even in the AVX-512 clone, where one instruction does it; the kernels
 * whose inner loop is that conversion (the double-lane sums) have an
 * AVX-512 twin, compiled with AFFECT_AVX512, converting with
 * AFFECT_CVT8_AVX512 and called when affect_have_avx512 (). The
 * conversion is exact either way, so the twin has the clones' bits. */
#include <immintrin.h>
#define AFFECT_AVX512 __attribute__ ((target ("avx512f")))
/* v: 8 floats (the file's v8sf); the file's v8df of 8 doubles */
#define AFFECT_CVT8_AVX512(v) ((v8df) _mm512_cvtps_pd ((__m256) (v)))
#define affect_have_avx512() __builtin_cpu_supports ("avx512f")
#else
#define AFFECT_VECTOR_CLONES
#endif

#endif
