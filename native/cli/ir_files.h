/*
 * ir_files.h -- the information-retrieval files the CLI reads and writes:
 * TREC runs ("qid Q0 docid rank score tag"), TREC qrels ("qid iter docid
 * rel"), MS MARCO-style TSVs ("id<TAB>text") and the resumable output of
 * rankt5 rerank.
 *
 * Every reader reports the first bad line as "FILE:LINE: what is wrong" in
 * a caller buffer and returns false; nothing here prints or exits. Line
 * parsers take (bytes, length) and never read past them, so a NUL byte or a
 * missing final newline is just data. The collection reader streams: it
 * keeps only the ids the caller asked for, so a 3 GB MS MARCO collection
 * costs the memory of the passages a run needs, not of the whole file.
 *
 * This file belongs to the CLI, not the library; tests/test_ir_files.c
 * compiles ir_files.c into the test binary.
 */
#ifndef RT5_CLI_IR_FILES_H
#define RT5_CLI_IR_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IR_ERR_CAP 1024

/* ------------------------------------------------------------ string map */

/* An open-addressing hash map from owned strings to size_t values. */
typedef struct ir_strmap {
    char **keys;    /* (cap) NULL = empty slot */
    size_t *values; /* (cap)                   */
    size_t cap, count;
} ir_strmap;

/* Looks key up; true and *value if present. */
bool ir_strmap_get(const ir_strmap *m, const char *key, size_t len, size_t *value);
/* Inserts key -> value unless present. *inserted says which; *value_out
 * (may be NULL) gets the stored value. False only when memory ran out. */
bool ir_strmap_put(ir_strmap *m, const char *key, size_t len, size_t value, bool *inserted,
                   size_t *value_out);
void ir_strmap_free(ir_strmap *m);

/* ------------------------------------------------------------ TREC runs */

typedef struct ir_run_doc {
    char *docid;
    double score;
    long rank;
    size_t line; /* 1-based line in the file */
} ir_run_doc;

typedef struct ir_run_query {
    char *qid;
    ir_run_doc *docs;
    size_t n_docs, cap_docs;
} ir_run_query;

/* Queries in order of first appearance in the file. */
typedef struct ir_run {
    ir_run_query *queries;
    size_t n_queries, cap_queries;
    size_t n_lines; /* lines of entries read                          */
    ir_strmap qids; /* qid -> index in queries                        */
} ir_run;

/* One run line split into its fields (pointers into the line). */
typedef struct ir_run_fields {
    const char *qid, *docid, *tag;
    size_t qid_len, docid_len, tag_len;
    long rank;
    double score;
} ir_run_fields;

/* Parses one line (no newline) of a run; false with a reason in why. */
bool ir_parse_run_line(const char *line, size_t len, ir_run_fields *out, char *why,
                       size_t why_cap);

/* Reads a whole run. A docid repeated within a query is an error naming
 * both lines. Blank lines are skipped. */
bool ir_run_read(const char *path, ir_run *run, char *err, size_t err_cap);
/* Orders each query's documents by the run's score (descending; ties by
 * the run's rank, then file order: the order the run's producer meant) and
 * keeps the first top_k (0 = all). rankt5 rerank picks its candidates so. */
void ir_run_rank_and_cut(ir_run *run, size_t top_k);
/* Orders each query's documents as trec_eval 9.x (pytrec_eval bundles
 * 9.0.5; Anserini's regressions use 9.x) ranks them: by the score rounded to
 * float, descending, ties by docid in descending strcmp order. The run's
 * rank field and line order play no part. rankt5 eval ranks so. */
void ir_run_rank_trec_eval(ir_run *run);
void ir_run_free(ir_run *run);

/* ------------------------------------------------------------ TSV texts */

/* id -> text rows from "id<TAB>text" files. */
typedef struct ir_texts {
    ir_strmap ids;  /* id -> index in texts                          */
    char **texts;   /* (n) NUL-terminated, owned; NULL = wanted but
                       not (yet) found                                */
    size_t *lens;   /* (n)                                            */
    size_t n, cap;
} ir_texts;

/* Splits one TSV line (no newline) at its first tab; false if none. */
bool ir_parse_tsv_line(const char *line, size_t len, const char **id, size_t *id_len,
                       const char **text, size_t *text_len);

/* Reads every row of a small TSV (queries). A repeated id is an error. */
bool ir_texts_read_all(const char *path, ir_texts *out, char *err, size_t err_cap);
/* Adds id to the wanted set (text NULL until found). */
bool ir_texts_want(ir_texts *t, const char *id, size_t len);
/* Streams a large TSV (a collection), keeping the text of wanted ids only
 * (the first row of an id wins). *n_found counts the wanted ids found. */
bool ir_texts_read_wanted(const char *path, ir_texts *t, size_t *n_found, char *err,
                          size_t err_cap);
/* The text of id, or NULL if absent or not found. */
const char *ir_texts_get(const ir_texts *t, const char *id, size_t *len);
void ir_texts_free(ir_texts *t);

/* ------------------------------------------------------------ qrels */

typedef struct ir_qrels {
    ir_strmap pairs;   /* "qid\tdocid" -> relevance grade (as size_t)   */
    ir_strmap qids;    /* qid -> index in per_query                     */
    struct ir_qrels_query {
        int *grades;   /* every judged grade of the query               */
        size_t n, cap;
    } *per_query;
    size_t n_queries, cap_queries;
} ir_qrels;

/* Reads "qid iter docid rel" lines (rel an integer in [-1, 1000]; -1,
 * trec_eval's "in the pool but unjudged", counts as 0). A (qid, docid)
 * judged a second time is an error naming that line: trec_eval refuses
 * repeated judgments too ("duplicate docs"). */
bool ir_qrels_read(const char *path, ir_qrels *q, char *err, size_t err_cap);
/* Grade of (qid, docid), 0 when unjudged. */
int ir_qrels_grade(const ir_qrels *q, const char *qid, const char *docid);
void ir_qrels_free(ir_qrels *q);

/* ------------------------------------------------------------ rerank output */

/* One query's block in a partial TREC run written by rankt5 rerank. */
typedef struct ir_out_block {
    char *qid;
    size_t n_lines;
    uint64_t start, end; /* byte range of the block in the file       */
    bool complete_line;  /* the block's last line ends with '\n'      */
} ir_out_block;

/*
 * Splits an existing output file into consecutive per-query blocks. A qid
 * that comes back after another query's block, or a malformed line other
 * than an unterminated last one, is an error. An unterminated last line
 * that does not parse becomes a block of its own with qid "" (a torn
 * write); one that parses ends its block with complete_line false. A
 * missing file gives zero blocks.
 */
bool ir_out_scan(const char *path, ir_out_block **blocks, size_t *n_blocks, char *err,
                 size_t err_cap);
void ir_out_blocks_free(ir_out_block *blocks, size_t n_blocks);

/* ------------------------------------------------------------ lines */

/* Reads the next line of fp into *buf (growing it), without the '\n' and a
 * trailing '\r'. Returns its length, or -1 at end of file or on a read error
 * (ferror tells which). *had_newline says whether a '\n' ended it. */
long ir_read_line(FILE *fp, char **buf, size_t *cap, bool *had_newline);

#endif /* RT5_CLI_IR_FILES_H */
