/*
 * mpi-allreduce.c - the all-reduce's latency and bandwidth on this
 * machine (tests/bench/mpi.sh builds it with mpicc): MPI_Allreduce of
 * float sums in place, 8 bytes to 16 MB, each size repeated for about a
 * fifth of a second; rank 0 prints bytes, microseconds a call, and the
 * "bus bandwidth" 2(N-1)/N x bytes / time that a ring all-reduce moves
 * through each link (the figure the scale model, tests/bench/mpi-scale.py,
 * takes).
 */
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

int
main(int argc, char *argv[])
{
	static const long sizes[] = { 8, 1024, 65536, 1 << 20, 4 << 20, 16 << 20 };
	int rank, size;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (rank == 0)
		printf("%10s %12s %12s\n", "bytes", "us/call", "bus_GB/s");
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		long n = sizes[s] / 4, reps = 0;
		float *buf = calloc(n, sizeof *buf);
		double t0, t = 0, stop = 0;

		for (int i = 0; i < 3; i++)	/* warm up */
			MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		MPI_Barrier(MPI_COMM_WORLD);
		t0 = MPI_Wtime();
		while (!stop) {
			MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
			reps++;
			t = MPI_Wtime() - t0;
			stop = t > 0.2;
			MPI_Bcast(&stop, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
		}
		if (rank == 0)
			printf("%10ld %12.2f %12.3f\n", sizes[s], 1e6 * t / reps,
			    2.0 * (size - 1) / size * sizes[s] / (t / reps) / 1e9);
		free(buf);
	}
	MPI_Finalize();
	return 0;
}
