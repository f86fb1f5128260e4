/* Row parallelism for rnnkit's per-step kernels, through OpenMP.
 *
 * Built with -fopenmp, a kernel loaded into a PyTorch process resolves libgomp to the copy
 * PyTorch already loaded (the same soname), so its parallel loops run on PyTorch's own worker
 * threads, which are still spinning after the step's matrix product: no threads are created or
 * woken per call. Built without OpenMP (the compiler lacks it), the pragmas vanish and every
 * loop runs on the calling thread with thread id 0.
 *
 * A kernel takes `threads` from its caller (at most rnnkit_max_threads()) and splits its batch
 * rows statically over them, so each thread always gets the same rows and the per-thread sums a
 * backward accumulates are reduced in a fixed order: results do not depend on timing. Every
 * kernel includes this header, so every library exports rnnkit_max_threads for build.py.
 */
#ifndef RNNKIT_PARALLEL_H
#define RNNKIT_PARALLEL_H

#ifdef _OPENMP
#include <omp.h>
#define THREAD_ID() omp_get_thread_num()
/* the size of the team running the current parallel region */
#define TEAM_SIZE() omp_get_num_threads()
#define BARRIER() _Pragma("omp barrier")
/* the calling thread's team size: PyTorch's torch.get_num_threads() */
#define MAX_THREADS() omp_get_max_threads()
#else
#define THREAD_ID() 0
#define TEAM_SIZE() 1
#define BARRIER()
#define MAX_THREADS() 1
#endif

/* the most threads a kernel of this library can use (1 without OpenMP) */
int rnnkit_max_threads(void) { return MAX_THREADS(); }

/* a `for` over batch rows that follows, split statically over `threads` */
#define PARALLEL_ROWS _Pragma("omp parallel for schedule(static) num_threads(threads) if(threads > 1)")
/* a block that every thread of a team of `threads` runs (split the work by THREAD_ID()) */
#define PARALLEL_TEAM _Pragma("omp parallel num_threads(threads) if(threads > 1)")

#endif
