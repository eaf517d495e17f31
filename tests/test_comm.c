/* The communication layer: run alone it is one rank and collectives are the identity;
 * under `mpirun -np P` (see test_comm_mpi.sh) the mean, sums and checks hold across ranks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/comm.h"
#include "test_support.h"

int main(int argc, char **argv) {
    amod_comm c;
    amod_error err;
    CHECK(amod_comm_init(&c, &argc, &argv, &err) == 0, "init: %s", err.msg);
    CHECK(c.size >= 1 && c.rank >= 0 && c.rank < c.size, "rank %d of %d", c.rank, c.size);
    /* rank r contributes r + i: the mean over P ranks is (P - 1) / 2 + i */
    float g[1000];
    for (int i = 0; i < 1000; i++) g[i] = (float)(c.rank + i);
    CHECK(amod_comm_allreduce_mean(&c, g, 1000, &err) == 0, "allreduce: %s", err.msg);
    int ok = 1;
    for (int i = 0; i < 1000; i++) ok &= g[i] == (float)(c.size - 1) / 2.0f + (float)i;
    CHECK(ok, "mean over %d ranks is wrong", c.size);
    double s[2] = {1.0, (double)c.rank};
    CHECK(amod_comm_allreduce_sum_f64(&c, s, 2, &err) == 0, "sum: %s", err.msg);
    CHECK(s[0] == c.size && s[1] == c.size * (c.size - 1) / 2.0, "sums %g %g", s[0], s[1]);
    CHECK(amod_comm_check_same(&c, 42, "answer", &err) == 0, "same value refused: %s", err.msg);
    int rc = amod_comm_check_same(&c, (uint64_t)c.rank, "rank number", &err);
    CHECK(c.size == 1 ? rc == 0 : (rc != 0 && strstr(err.msg, "ranks disagree on the rank number")),
          "different values across %d ranks: rc %d", c.size, rc);
    char buf[16] = "";
    if (c.rank == 0) strcpy(buf, "from root");
    CHECK(amod_comm_bcast(&c, buf, sizeof buf, &err) == 0 && !strcmp(buf, "from root"), "bcast");
    CHECK(amod_hash_bytes("abc", 3, 0) != amod_hash_bytes("abd", 3, 0), "hash");
    int fails = test_summary(c.rank == 0 ? "test_comm" : "test_comm (rank > 0)");
    amod_comm_finalize(&c);
    return fails;
}
