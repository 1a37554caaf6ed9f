/*
 * test_core.c -- status names, error messages and file mapping.
 */
#include <unistd.h>

#include "core/common.h"
#include "core/mapped_file.h"
#include "harness.h"

TEST(test_core_status_names_are_distinct_and_stable)
{
    CHECK_EQ_STR(rt5_status_str(RT5_OK), "ok");
    CHECK_EQ_STR(rt5_status_str(RT5_ERR_FORMAT), "format error");
    CHECK_EQ_STR(rt5_status_str((rt5_status)-999), "unknown status");
    CHECK_EQ_STR(rt5_status_str((rt5_status)5), "unknown status");
    for (int a = 0; a >= RT5_ERR_THREAD; a--)
        for (int b = a - 1; b >= RT5_ERR_THREAD; b--)
            CHECK(strcmp(rt5_status_str((rt5_status)a), rt5_status_str((rt5_status)b)) != 0);
}

TEST(test_core_fail_formats_and_prefixes)
{
    rt5__errmsg err;
    CHECK_EQ_INT(rt5__fail(&err, RT5_ERR_SHAPE, "key '%s' is %d", "x", 3), RT5_ERR_SHAPE);
    CHECK_EQ_STR(err.text, "key 'x' is 3");
    rt5__errmsg_prefix(&err, "%s", "model.bin");
    CHECK_EQ_STR(err.text, "model.bin: key 'x' is 3");
    CHECK_EQ_INT(rt5__fail(NULL, RT5_ERR_IO, "ignored"), RT5_ERR_IO);
}

TEST(test_core_mapped_file_reads_bytes_and_names_missing_file)
{
    char path[] = "/tmp/rt5_test_core_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "hello", 5) == 5);
    close(fd);
    rt5__mapped_file file;
    rt5__errmsg err;
    CHECK_EQ_INT(rt5__mapped_file_open(path, &file, &err), RT5_OK);
    CHECK_EQ_INT(file.size, 5);
    CHECK(file.data && memcmp(file.data, "hello", 5) == 0);
    rt5__mapped_file_close(&file);
    unlink(path);
    CHECK_EQ_INT(rt5__mapped_file_open(path, &file, &err), RT5_ERR_IO);
    CHECK(strstr(err.text, path) != NULL);
}
