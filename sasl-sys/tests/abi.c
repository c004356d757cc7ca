/*
 * Prints what the C compiler knows about the libsasl2 ABI, one tab-separated
 * item per line, for tests/abi.rs to compare with the Rust bindings:
 *
 *   int     NAME    VALUE
 *   bytes   NAME    HEX (every byte of the string literal, NUL included)
 *   struct  TYPE    SIZE    ALIGN
 *   field   TYPE    FIELD   OFFSET  SIZE
 *
 * Which items to print comes from abi_items.h, which tests/abi.rs writes from
 * the list sasl-sys/build.rs took from the bindings of the same build.
 */
#include <stddef.h>
#include <stdio.h>

/* The same headers bindgen reads. */
#include "wrapper.h"

static void print_int(const char *name, int negative, long long as_signed,
                      unsigned long long as_unsigned)
{
    if (negative)
        printf("int\t%s\t%lld\n", name, as_signed);
    else
        printf("int\t%s\t%llu\n", name, as_unsigned);
}

static void print_bytes(const char *name, const char *bytes, size_t len)
{
    size_t i;

    printf("bytes\t%s\t", name);
    for (i = 0; i < len; i++)
        printf("%02x", (unsigned char)bytes[i]);
    putchar('\n');
}

/* The value is printed through whichever of the two casts keeps it intact. */
#define ABI_INT(name) \
    print_int(#name, (name) < 0, (long long)(name), (unsigned long long)(name));

/* sizeof a string literal counts its terminating NUL, as bindgen's &[u8; N] does. */
#define ABI_BYTES(name) print_bytes(#name, (name), sizeof(name));

#define ABI_STRUCT(type) \
    printf("struct\t%s\t%zu\t%zu\n", #type, sizeof(type), _Alignof(type));

#define ABI_FIELD(type, field)                                      \
    printf("field\t%s\t%s\t%zu\t%zu\n", #type, #field,              \
           offsetof(type, field), sizeof(((type *)0)->field));

int main(void)
{
#include "abi_items.h"
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
