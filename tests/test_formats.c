/*
 * test_formats.c -- the checkpoint readers of native/src/formats on their own:
 * the hostile corpus (tests/fixtures/hostile/EXPECTED.tsv: every file is
 * refused with its status and a message naming the problem), ZIP64, the
 * pickle machine's allow-list, the safetensors writer round trip.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "formats/pickle.h"
#include "formats/safetensors.h"
#include "formats/tensor_set.h"
#include "formats/zip.h"
#include "harness.h"
#include "model/weights.h"

#define FIX "tests/fixtures/checkpoints/"
#define HOSTILE "tests/fixtures/hostile/"

/* A per-process file name, so concurrent test runs never collide. */
static void tmp_name(char *buf, size_t cap, const char *stem)
{
    snprintf(buf, cap, "%s.%ld", stem, (long)getpid());
}

static rt5_status status_named(const char *name)
{
    static const struct {
        const char *name;
        rt5_status status;
    } names[] = {{"FORMAT", RT5_ERR_FORMAT}, {"REFUSED", RT5_ERR_REFUSED},
                 {"UNSUPPORTED", RT5_ERR_UNSUPPORTED}, {"SHAPE", RT5_ERR_SHAPE},
                 {"IO", RT5_ERR_IO}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].status;
    return RT5_OK;
}

TEST(test_formats_hostile_corpus_is_refused_with_named_errors)
{
    FILE *f = fopen(rt5t_path(HOSTILE "EXPECTED.tsv"), "r");
    REQUIRE(f != NULL);
    char line[1024];
    int n_cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\n")] = 0;
        char *file = strtok(line, "\t"), *status = strtok(NULL, "\t"), *fragment = strtok(NULL, "\t");
        REQUIRE(file && status && fragment);
        char path[4096];
        snprintf(path, sizeof path, "%s", rt5t_path(HOSTILE));
        strncat(path, file, sizeof path - strlen(path) - 1);
        rt5_model *m = NULL;
        rt5_status st = rt5_model_load(path, NULL, &m);
        const char *msg = rt5_model_last_error(m);
        bool ok = st == status_named(status) && strstr(msg, fragment) != NULL &&
                  strstr(msg, file) != NULL;
        if (!ok)
            fprintf(stderr, "  %s: got %s \"%s\", want %s \"...%s...\"\n", file,
                    rt5_status_str(st), msg, status, fragment);
        CHECK(ok);
        rt5_model_free(m);
        n_cases++;
    }
    fclose(f);
    CHECK(n_cases >= 50);
    struct stat sb;
    CHECK(stat("/tmp/rankt5-hostile-pwned", &sb) != 0); /* no payload ran */
}

static void check_same_as_relu_f32(const char *rel)
{
    rt5__tensor_set *a = NULL, *b = NULL;
    rt5__errmsg err;
    REQUIRE(rt5__tensor_set_open(rt5t_path(FIX "relu_f32.bin"), &a, &err) == RT5_OK);
    rt5_status st = rt5__tensor_set_open(rt5t_path(rel), &b, &err);
    if (st != RT5_OK)
        fprintf(stderr, "  %s\n", err.text);
    REQUIRE(st == RT5_OK);
    REQUIRE(a->n_tensors == b->n_tensors);
    for (size_t i = 0; i < a->n_tensors; i++) {
        const rt5__tensor_view *x = &a->tensors[i], *y = rt5__tensor_set_find(b, x->name);
        REQUIRE(y != NULL);
        CHECK_EQ_INT(x->n_bytes, y->n_bytes);
        CHECK(memcmp(x->data, y->data, x->n_bytes) == 0);
        CHECK_EQ_INT(x->storage_id, y->storage_id);
    }
    rt5__tensor_set_free(a);
    rt5__tensor_set_free(b);
}

TEST(test_formats_zip64_archive_reads_like_the_original)
{
    check_same_as_relu_f32(FIX "relu_f32_zip64.bin");         /* sizes and offsets in ZIP64 */
    check_same_as_relu_f32(FIX "relu_f32_zip64_offsets.bin"); /* offsets only, as torch does */
}

TEST(test_formats_torch_entries_are_aligned_and_in_place)
{
    rt5__tensor_set *set = NULL;
    rt5__errmsg err;
    REQUIRE(rt5__tensor_set_open(rt5t_path(FIX "gated_bf16.bin"), &set, &err) == RT5_OK);
    REQUIRE(set->n_files == 1);
    const rt5__tensor_view *v = rt5__tensor_set_find(set, "model.encoder.block.1.layer.1."
                                                          "DenseReluDense.wi_1.weight");
    REQUIRE(v != NULL);
    CHECK_EQ_INT(v->type, RT5__ELEM_BF16);
    CHECK_EQ_INT(v->n_dims, 2);
    CHECK_EQ_INT(v->shape[0], 32);
    CHECK_EQ_INT(v->shape[1], 16);
    CHECK_EQ_INT(v->n_bytes, 32 * 16 * 2);
    CHECK(v->contiguous);
    CHECK((v->data - set->files[0].data) % 64 == 0); /* torch aligns storages to 64 B */
    CHECK(v->data > set->files[0].data && v->data + v->n_bytes <= set->files[0].data + set->files[0].size);
    rt5__tensor_set_free(set);
}

TEST(test_formats_zip_crc32_known_value)
{
    CHECK_EQ_INT(rt5__zip_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    CHECK_EQ_INT(rt5__zip_crc32(NULL, 0), 0);
}

/* A pickle of {'w': _rebuild_parameter(_rebuild_tensor_v2(...), True,
 * OrderedDict())} using LONG1, memo and SHORT_BINUNICODE. */
TEST(test_formats_pickle_accepts_parameters_long_ints_and_memo)
{
    static const uint8_t pkl[] =
        "\x80\x02" "ccollections\nOrderedDict\nq\x00)Rq\x01"
        "\x8c\x01w" "ctorch._utils\n_rebuild_parameter\n"
        "ctorch._utils\n_rebuild_tensor_v2\n"
        "((X\x07\x00\x00\x00storage" "ctorch\nHalfStorage\n" "X\x01\x00\x00\x00" "0"
        "X\x03\x00\x00\x00" "cpu" "\x8a\x05\x00\x00\x00\x00\x01" "tQ"
        "K\x02" "K\x03K\x04\x86" "\x8a\x01\x04K\x01\x86" "\x89" "h\x00)R" "tR"
        "\x88" "h\x00)R" "\x87R" "s.";
    rt5__pickle_state_dict sd;
    rt5__errmsg err = {{0}};
    rt5_status st = rt5__pickle_read_state_dict(pkl, sizeof pkl - 1, &sd, &err);
    if (st != RT5_OK)
        fprintf(stderr, "  %s\n", err.text);
    REQUIRE(st == RT5_OK);
    REQUIRE(sd.n_tensors == 1);
    CHECK_EQ_STR(sd.tensors[0].name, "w");
    CHECK_EQ_STR(sd.tensors[0].storage_key, "0");
    CHECK_EQ_INT(sd.tensors[0].type, RT5__ELEM_F16);
    CHECK_EQ_INT(sd.tensors[0].storage_numel, 1LL << 32);
    CHECK_EQ_INT(sd.tensors[0].offset, 2);
    CHECK_EQ_INT(sd.tensors[0].n_dims, 2);
    CHECK_EQ_INT(sd.tensors[0].shape[1], 4);
    CHECK_EQ_INT(sd.tensors[0].strides[0], 4);
    rt5__pickle_state_dict_free(&sd);
}

TEST(test_formats_pickle_every_prefix_fails_cleanly)
{
    /* Cutting a real data.pkl anywhere must give an error, never a crash. */
    FILE *f = fopen(rt5t_path(FIX "relu_f32.bin"), "rb");
    REQUIRE(f != NULL);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    rt5__zip zip;
    rt5__errmsg err;
    REQUIRE(rt5__zip_open(buf, n, &zip, &err) == RT5_OK);
    const rt5__zip_entry *pkl = rt5__zip_find(&zip, "relu_f32/data.pkl");
    REQUIRE(pkl != NULL);
    rt5__pickle_state_dict sd;
    int failures = 0;
    for (size_t cut = 0; cut < pkl->size; cut++) {
        if (rt5__pickle_read_state_dict(pkl->data, cut, &sd, &err) == RT5_OK) {
            rt5__pickle_state_dict_free(&sd);
            continue;
        }
        failures++;
    }
    CHECK_EQ_INT(failures, pkl->size); /* STOP is the last byte */
    REQUIRE(rt5__pickle_read_state_dict(pkl->data, pkl->size, &sd, &err) == RT5_OK);
    CHECK_EQ_INT(sd.n_tensors, 26);
    rt5__pickle_state_dict_free(&sd);
    rt5__zip_close(&zip);
}

TEST(test_formats_safetensors_writer_round_trip)
{
    char path[256];
    tmp_name(path, sizeof path, "/tmp/rt5_test_formats_rt.safetensors");
    float a[6] = {1, 2, 3, 4, 5, -6};
    uint16_t h[3] = {0x3c00, 0xc000, 0x0001};
    int8_t q[5] = {-128, -1, 0, 1, 127};
    double d[1] = {0.25};
    rt5__safetensors_tensor t[4] = {
        {"q8", RT5__ELEM_I8, 1, {5}, q},
        {"half", RT5__ELEM_F16, 2, {1, 3}, h},
        {"a", RT5__ELEM_F32, 2, {2, 3}, a},
        {"scalar", RT5__ELEM_F64, 0, {0}, d},
    };
    const char *mk[] = {"format", "quantized"}, *mv[] = {"pt", "int8 per-row"};
    rt5__errmsg err;
    REQUIRE(rt5__safetensors_write(path, t, 4, mk, mv, 2, &err) == RT5_OK);
    rt5__tensor_set *set = NULL;
    rt5_status st = rt5__tensor_set_open(path, &set, &err);
    if (st != RT5_OK)
        fprintf(stderr, "  %s\n", err.text);
    REQUIRE(st == RT5_OK);
    CHECK_EQ_INT(set->n_tensors, 4);
    for (int i = 0; i < 4; i++) {
        const rt5__tensor_view *v = rt5__tensor_set_find(set, t[i].name);
        REQUIRE(v != NULL);
        CHECK_EQ_INT(v->type, t[i].type);
        CHECK_EQ_INT(v->n_dims, t[i].n_dims);
        CHECK(memcmp(v->shape, t[i].shape, sizeof(int64_t) * (size_t)t[i].n_dims) == 0);
        CHECK(memcmp(v->data, t[i].data, v->n_bytes) == 0);
        CHECK((uintptr_t)v->data % rt5__elem_size(v->type) == 0); /* aligned in the file */
    }
    CHECK_EQ_INT(set->n_metadata, 2);
    CHECK_EQ_STR(set->metadata_values[1], "int8 per-row");
    rt5__tensor_set_free(set);
    /* A duplicate name is refused and leaves the old file untouched. */
    rt5__safetensors_tensor dup[2] = {t[2], t[2]};
    CHECK(rt5__safetensors_write(path, dup, 2, NULL, NULL, 0, &err) != RT5_OK);
    REQUIRE(rt5__tensor_set_open(path, &set, &err) == RT5_OK);
    CHECK_EQ_INT(set->n_tensors, 4);
    rt5__tensor_set_free(set);
    unlink(path);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    struct stat sb;
    CHECK(stat(tmp, &sb) != 0);
}

TEST(test_formats_safetensors_written_by_us_loads_as_model)
{
    /* Rewrite a torch fixture as safetensors with our writer: same model. */
    rt5__tensor_set *set = NULL;
    rt5__errmsg err;
    REQUIRE(rt5__tensor_set_open(rt5t_path(FIX "gated_bf16.bin"), &set, &err) == RT5_OK);
    rt5__safetensors_tensor *t = calloc(set->n_tensors, sizeof *t);
    REQUIRE(t != NULL);
    size_t n = 0;
    for (size_t i = 0; i < set->n_tensors; i++) {
        const rt5__tensor_view *v = &set->tensors[i];
        if (strstr(v->name, "embed_tokens"))
            continue; /* tied: stored once */
        t[n] = (rt5__safetensors_tensor){v->name, v->type, v->n_dims, {0}, v->data};
        memcpy(t[n++].shape, v->shape, sizeof v->shape);
    }
    char path[256];
    tmp_name(path, sizeof path, "/tmp/rt5_test_formats_model.safetensors");
    REQUIRE(rt5__safetensors_write(path, t, n, NULL, NULL, 0, &err) == RT5_OK);
    free(t);
    rt5__tensor_set_free(set);
    rt5_model *a = NULL, *b = NULL;
    REQUIRE(rt5__model_load_unprepared(rt5t_path(FIX "gated_bf16.bin"), NULL, &a) == RT5_OK);
    REQUIRE(rt5__model_load_unprepared(path, NULL, &b) == RT5_OK);
    CHECK_EQ_INT(a->n_params, b->n_params);
    CHECK(memcmp(a->weights.blocks[1].wi_1, b->weights.blocks[1].wi_1, 32 * 16 * 4) == 0);
    CHECK(memcmp(a->weights.embed, b->weights.embed, 40 * 16 * 4) == 0);
    rt5_model_free(a);
    rt5_model_free(b);
    unlink(path);
}

TEST(test_formats_folder_and_path_errors)
{
    rt5__tensor_set *set = NULL;
    rt5__errmsg err;
    CHECK_EQ_INT(rt5__tensor_set_open("/nonexistent-rt5", &set, &err), RT5_ERR_IO);
    CHECK(strstr(err.text, "/nonexistent-rt5") != NULL);
    char dir[] = "/tmp/rt5_formats_dir_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    CHECK_EQ_INT(rt5__tensor_set_open(dir, &set, &err), RT5_ERR_IO);
    CHECK(strstr(err.text, "no model.safetensors") != NULL);
    rmdir(dir);
    CHECK(set == NULL);
}
