/*
 * Unit tests for the store contract (src/store/store.h) on the SQLite
 * backend: the op contract and the batching tests of store_contract.h,
 * shared with test_store_pg.c. SQLite specifics (a failed transaction,
 * pragmas, schema version) are in test_store_batch.c. Fixture:
 * store_test_util.h.
 */
#include "store_contract.h"
#include "store_contract_changes.h"

int main(void) {
    const struct CMUnitTest tests[] = {
        STORE_CONTRACT_TESTS(setup, teardown),
        STORE_CONTRACT_BATCH_TESTS(setup, teardown),
        STORE_CHANGES_CONTRACT_TESTS(setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
