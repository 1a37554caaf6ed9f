/*
 * test_ir_files.c -- the CLI's TREC run / qrels / TSV readers and the block
 * scanner behind rerank --resume: good files read back field by field, bad
 * ones fail with "FILE:LINE: reason", the collection reader keeps only the
 * wanted ids, and torn output tails are recognised.
 *
 * ir_files.c belongs to the CLI (native/cli), not the library, so it is
 * compiled into this test directly.
 */
#include <unistd.h>

#include "../native/cli/ir_files.c"
#include "harness.h"

/* Writes text to a fresh temporary file; returns its path (static). */
static const char *temp_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/rt5_test_ir_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        len = 0;
    close(fd);
    return path;
}

/* Like temp_file, for bytes that may hold NULs. */
static const char *temp_bytes(const char *bytes, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/rt5_test_ir_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    if (write(fd, bytes, len) != (ssize_t)len)
        len = 0;
    close(fd);
    return path;
}

/* Reads a run from text; on failure the error goes to err. */
static bool run_from(const char *text, ir_run *run, char *err)
{
    const char *path = temp_file(text);
    bool ok = ir_run_read(path, run, err, IR_ERR_CAP);
    unlink(path);
    return ok;
}

TEST(test_ir_files_run_reads_queries_in_file_order)
{
    ir_run run;
    char err[IR_ERR_CAP];
    REQUIRE(run_from("q2 Q0 d1 1 10.5 bm25\n"
                     "\n"
                     "q1\tQ0\td7\t1\t3\tbm25\r\n"
                     "q2 Q0 d3 2 9.25 bm25\n"
                     "q1 Q0 d8 2 2.5e0 bm25", /* no final newline */
                     &run, err));
    CHECK_EQ_INT(run.n_queries, 2);
    CHECK_EQ_INT(run.n_lines, 4);
    CHECK_EQ_STR(run.queries[0].qid, "q2");
    CHECK_EQ_INT(run.queries[0].n_docs, 2);
    CHECK_EQ_STR(run.queries[0].docs[1].docid, "d3");
    CHECK(run.queries[0].docs[1].score == 9.25);
    CHECK_EQ_INT(run.queries[0].docs[1].line, 4);
    CHECK_EQ_STR(run.queries[1].qid, "q1");
    CHECK_EQ_STR(run.queries[1].docs[0].docid, "d7");
    CHECK(run.queries[1].docs[1].score == 2.5);
    ir_run_free(&run);
}

TEST(test_ir_files_run_rank_and_cut_orders_by_score_then_rank)
{
    ir_run run;
    char err[IR_ERR_CAP];
    REQUIRE(run_from("q Q0 a 3 1.0 t\n"
                     "q Q0 b 1 5.0 t\n"
                     "q Q0 c 2 1.0 t\n"
                     "q Q0 d 4 0.5 t\n",
                     &run, err));
    ir_run_rank_and_cut(&run, 3);
    REQUIRE(run.queries[0].n_docs == 3);
    CHECK_EQ_STR(run.queries[0].docs[0].docid, "b");
    CHECK_EQ_STR(run.queries[0].docs[1].docid, "c"); /* tie at 1.0: rank 2 first */
    CHECK_EQ_STR(run.queries[0].docs[2].docid, "a");
    ir_run_free(&run);
}

TEST(test_ir_files_rank_trec_eval_orders_by_float_score_then_docid_descending)
{
    ir_run run;
    char err[IR_ERR_CAP];
    /* b10 > b1 > a9 in strcmp order; 2.00000001 and 2 are one float. The
     * rank column and file order say the opposite and must not matter. */
    REQUIRE(run_from("q Q0 a9 1 5 t\n"
                     "q Q0 b1 2 5 t\n"
                     "q Q0 z 3 2.00000001 t\n"
                     "q Q0 b10 4 5 t\n"
                     "q Q0 zz 5 2 t\n"
                     "q Q0 top 6 7.5 t\n",
                     &run, err));
    ir_run_rank_trec_eval(&run);
    static const char *want[] = {"top", "b10", "b1", "a9", "zz", "z"};
    REQUIRE(run.queries[0].n_docs == 6);
    for (size_t i = 0; i < 6; i++)
        CHECK_EQ_STR(run.queries[0].docs[i].docid, want[i]);
    ir_run_free(&run);
}

TEST(test_ir_files_run_errors_name_file_and_line)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"q Q0 d 1 1.0 t\nq Q0 e 2 1.0\n", ":2: expected 6 fields 'qid Q0 docid rank score tag', found 5"},
        {"q Q0 d 1 1.0 t extra\n", ":1: expected 6 fields 'qid Q0 docid rank score tag', found more than 6"},
        {"q Q0 d one 1.0 t\n", ":1: rank 'one' is not an integer"},
        {"\n\nq Q0 d 1 high t\n", ":3: score 'high' is not a finite number"},
        {"q Q0 d 1 nan t\n", ":1: score 'nan' is not a finite number"},
        {"q Q0 d 1 1 t\nr Q0 d 1 1 t\nq Q0 d 2 0 t\n", ":3: document 'd' repeats line 1 of query 'q'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ir_run run;
        char err[IR_ERR_CAP] = "";
        const char *path = temp_file(cases[i].text);
        CHECK(!ir_run_read(path, &run, err, sizeof err));
        char expect[512];
        snprintf(expect, sizeof expect, "%s%s", path, cases[i].expect);
        CHECK_EQ_STR(err, expect);
        unlink(path);
    }
    ir_run run;
    char err[IR_ERR_CAP];
    CHECK(!ir_run_read("/nonexistent/run.trec", &run, err, sizeof err));
    CHECK(strstr(err, "/nonexistent/run.trec: cannot open") == err);
}

TEST(test_ir_files_tsv_reads_all_rows_with_empty_texts)
{
    const char *path = temp_file("1\tfirst query\r\n2\t\n3\ttabs\tinside\n");
    ir_texts t;
    char err[IR_ERR_CAP];
    REQUIRE(ir_texts_read_all(path, &t, err, sizeof err));
    unlink(path);
    size_t len = 99;
    CHECK_EQ_STR(ir_texts_get(&t, "1", &len), "first query");
    CHECK_EQ_INT(len, 11);
    CHECK_EQ_STR(ir_texts_get(&t, "2", &len), "");
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_STR(ir_texts_get(&t, "3", NULL), "tabs\tinside");
    CHECK(ir_texts_get(&t, "4", NULL) == NULL);
    ir_texts_free(&t);
}

TEST(test_ir_files_tsv_errors_name_file_and_line)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"1\ta\n2 b\n", ":2: expected 'id<TAB>text' (no tab found)"},
        {"1\ta\n\tb\n", ":2: expected 'id<TAB>text' (the id is empty)"},
        {"1\ta\n2\tb\n1\tc\n", ":3: id '1' appears twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ir_texts t;
        char err[IR_ERR_CAP] = "";
        const char *path = temp_file(cases[i].text);
        CHECK(!ir_texts_read_all(path, &t, err, sizeof err));
        char expect[512];
        snprintf(expect, sizeof expect, "%s%s", path, cases[i].expect);
        CHECK_EQ_STR(err, expect);
        unlink(path);
    }
}

TEST(test_ir_files_collection_keeps_only_wanted_ids)
{
    const char *path = temp_file("d1\tone\nd2\ttwo\nd3\tthree\nd2\tlater duplicate\nd9\tnine\n");
    ir_texts t = {0};
    char err[IR_ERR_CAP];
    REQUIRE(ir_texts_want(&t, "d2", 2));
    REQUIRE(ir_texts_want(&t, "d9", 2));
    REQUIRE(ir_texts_want(&t, "missing", 7));
    size_t found = 0;
    REQUIRE(ir_texts_read_wanted(path, &t, &found, err, sizeof err));
    unlink(path);
    CHECK_EQ_INT(found, 2);
    CHECK_EQ_INT(t.n, 3);
    CHECK_EQ_STR(ir_texts_get(&t, "d2", NULL), "two");
    CHECK_EQ_STR(ir_texts_get(&t, "d9", NULL), "nine");
    CHECK(ir_texts_get(&t, "d1", NULL) == NULL);
    CHECK(ir_texts_get(&t, "missing", NULL) == NULL);
    ir_texts_free(&t);
}

TEST(test_ir_files_qrels_grades_and_errors)
{
    const char *path = temp_file("q1 0 d1 2\nq1 0 d2 0\nq2 Q0 d1 1\n");
    ir_qrels q;
    char err[IR_ERR_CAP];
    REQUIRE(ir_qrels_read(path, &q, err, sizeof err));
    unlink(path);
    CHECK_EQ_INT(ir_qrels_grade(&q, "q1", "d1"), 2);
    CHECK_EQ_INT(ir_qrels_grade(&q, "q1", "d2"), 0);
    CHECK_EQ_INT(ir_qrels_grade(&q, "q2", "d1"), 1);
    CHECK_EQ_INT(ir_qrels_grade(&q, "q2", "d2"), 0);
    CHECK_EQ_INT(q.n_queries, 2);
    ir_qrels_free(&q);

    path = temp_file("q1 0 d1 2\nq1 0 d2 x\n");
    CHECK(!ir_qrels_read(path, &q, err, sizeof err));
    CHECK(strstr(err, ":2: relevance 'x' is not an integer") != NULL);
    unlink(path);
}

TEST(test_ir_files_qrels_repeated_judgment_is_an_error)
{
    const char *path = temp_file("q1 0 d1 2\nq2 0 d1 0\nq1 0 d1 2\n");
    ir_qrels q;
    char err[IR_ERR_CAP];
    CHECK(!ir_qrels_read(path, &q, err, sizeof err));
    char expect[512];
    snprintf(expect, sizeof expect, "%s:3: document 'd1' of query 'q1' is judged a second time", path);
    CHECK(strncmp(err, expect, strlen(expect)) == 0);
    unlink(path);
}

/* The real TREC DL 2019 passage topics (qid<TAB>text, as Anserini ships
 * them) read as queries, one for each of the 43 judged queries. */
TEST(test_ir_files_reads_the_real_dl19_topics)
{
    char topics[4096], qrels[4096];
    snprintf(topics, sizeof topics, "%s", rt5t_shared_path("data/trec/topics.dl19-passage.txt"));
    snprintf(qrels, sizeof qrels, "%s", rt5t_shared_path("data/trec/qrels.dl19-passage.txt"));
    if (access(topics, R_OK) != 0 || access(qrels, R_OK) != 0)
        fprintf(stderr, "  %s or %s is missing (set RT5_SHARED_DIR)\n", topics, qrels);
    REQUIRE(access(topics, R_OK) == 0 && access(qrels, R_OK) == 0);
    ir_texts t;
    ir_qrels q;
    char err[IR_ERR_CAP];
    REQUIRE(ir_texts_read_all(topics, &t, err, sizeof err));
    REQUIRE(ir_qrels_read(qrels, &q, err, sizeof err));
    CHECK_EQ_INT(t.n, 43);
    CHECK_EQ_INT(q.n_queries, 43);
    CHECK_EQ_STR(ir_texts_get(&t, "156493", NULL), "do goldfish grow");
    CHECK_EQ_STR(ir_texts_get(&t, "1110199", NULL), "what is wifi vs bluetooth");
    for (size_t c = 0; c < q.qids.cap; c++)
        if (q.qids.keys[c] && !ir_texts_get(&t, q.qids.keys[c], NULL))
            CHECK_EQ_STR(q.qids.keys[c], "(a judged query with a topic)");
    ir_qrels_free(&q);
    ir_texts_free(&t);
}

TEST(test_ir_files_out_scan_splits_blocks_and_finds_torn_tails)
{
    const char *complete = "q1 Q0 a 1 2.000000 rankt5\n"
                           "q1 Q0 b 2 1.000000 rankt5\n"
                           "q2 Q0 c 1 0.500000 rankt5\n";
    char text[512];
    ir_out_block *b = NULL;
    size_t n = 0;
    char err[IR_ERR_CAP];

    const char *path = temp_file(complete);
    REQUIRE(ir_out_scan(path, &b, &n, err, sizeof err));
    unlink(path);
    REQUIRE(n == 2);
    CHECK_EQ_STR(b[0].qid, "q1");
    CHECK_EQ_INT(b[0].n_lines, 2);
    CHECK_EQ_INT(b[0].start, 0);
    CHECK_EQ_INT(b[0].end, 52);
    CHECK_EQ_INT(b[1].start, 52);
    CHECK_EQ_INT(b[1].end, strlen(complete));
    CHECK(b[1].complete_line);
    ir_out_blocks_free(b, n);

    /* A torn line that still parses ends its block without a newline. */
    snprintf(text, sizeof text, "%sq3 Q0 d 1 0.25 rank", complete);
    path = temp_file(text);
    REQUIRE(ir_out_scan(path, &b, &n, err, sizeof err));
    unlink(path);
    REQUIRE(n == 3);
    CHECK_EQ_STR(b[2].qid, "q3");
    CHECK(!b[2].complete_line);
    CHECK_EQ_INT(b[2].start, strlen(complete));
    ir_out_blocks_free(b, n);

    /* A torn line that does not parse becomes a block with qid "". */
    snprintf(text, sizeof text, "%sq3 Q0", complete);
    path = temp_file(text);
    REQUIRE(ir_out_scan(path, &b, &n, err, sizeof err));
    unlink(path);
    REQUIRE(n == 3);
    CHECK_EQ_STR(b[2].qid, "");
    CHECK_EQ_INT(b[2].start, strlen(complete));
    ir_out_blocks_free(b, n);

    /* A query that comes back is not our output. */
    snprintf(text, sizeof text, "%sq1 Q0 z 3 0.1 rankt5\n", complete);
    path = temp_file(text);
    CHECK(!ir_out_scan(path, &b, &n, err, sizeof err));
    CHECK(strstr(err, ":4: query 'q1' comes back after other queries") != NULL);
    unlink(path);

    CHECK(ir_out_scan("/tmp/rt5_test_ir_does_not_exist", &b, &n, err, sizeof err));
    CHECK_EQ_INT(n, 0);
}

TEST(test_ir_files_strmap_holds_many_keys)
{
    ir_strmap m = {0};
    char key[32];
    for (size_t i = 0; i < 20000; i++) {
        int len = snprintf(key, sizeof key, "doc%zu", i);
        bool fresh;
        REQUIRE(ir_strmap_put(&m, key, (size_t)len, i, &fresh, NULL));
        CHECK(fresh);
    }
    size_t v = 0;
    CHECK(ir_strmap_get(&m, "doc12345", 8, &v));
    CHECK_EQ_INT(v, 12345);
    CHECK(!ir_strmap_get(&m, "doc1234", 6, &v) || v == 123); /* prefix "doc123" */
    CHECK(!ir_strmap_get(&m, "doc20000", 8, NULL));
    CHECK_EQ_INT(m.count, 20000);
    ir_strmap_free(&m);
}

TEST(test_ir_files_nul_bytes_in_ids_are_errors_not_crashes)
{
    static const char tsv[] = "1\ta\nx\0y\tz\n";
    char err[IR_ERR_CAP] = "";
    ir_texts t;
    const char *path = temp_bytes(tsv, sizeof tsv - 1);
    CHECK(!ir_texts_read_all(path, &t, err, sizeof err));
    CHECK(strstr(err, ":2: expected 'id<TAB>text' (a NUL byte in the id)") != NULL);
    unlink(path);

    static const char run_text[] = "q\0 Q0 d 1 1.0 t\n";
    ir_run run;
    path = temp_bytes(run_text, sizeof run_text - 1);
    CHECK(!ir_run_read(path, &run, err, sizeof err));
    CHECK(strstr(err, ":1: a NUL byte in the query or document id") != NULL);
    unlink(path);

    /* NULs inside a passage text are data. */
    static const char text_nul[] = "d1\ta\0b\n";
    path = temp_bytes(text_nul, sizeof text_nul - 1);
    REQUIRE(ir_texts_read_all(path, &t, err, sizeof err));
    size_t len = 0;
    CHECK(ir_texts_get(&t, "d1", &len) != NULL);
    CHECK_EQ_INT(len, 3);
    ir_texts_free(&t);
    unlink(path);
}
