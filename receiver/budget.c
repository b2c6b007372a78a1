/* receiver/budget.c — the in-flight byte budget shared by the OTLP listeners (see
 * receiver_internal.h). */
#include "receiver/receiver_internal.h"

void otlp__budget_init(otlp__budget *b, uint64_t limit)
{
    atomic_store(&b->used, 0);
    atomic_store(&b->refused, 0);
    b->limit = limit;
}

bool otlp__budget_reserve(otlp__budget *b, uint64_t n)
{
    uint64_t used = atomic_load(&b->used);
    do {
        /* written as a subtraction so a hostile n near UINT64_MAX cannot wrap */
        if (used > b->limit || n > b->limit - used) {
            atomic_fetch_add(&b->refused, 1);
            return false;
        }
    } while (!atomic_compare_exchange_weak(&b->used, &used, used + n));
    return true;
}

void otlp__budget_release(otlp__budget *b, uint64_t n)
{
    if (n)
        atomic_fetch_sub(&b->used, n);
}

uint64_t otlp__budget_used(const otlp__budget *b)
{
    return atomic_load(&b->used);
}
