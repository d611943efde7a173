/*
 * fuzz: what the libFuzzer targets of tests/fuzz share. Each fuzz_NAME.c
 * is one target: it defines LLVMFuzzerTestOneInput, which feeds the bytes
 * to one reader of the library and checks what the library promises of
 * the result (an output that its own readers read back, an answer that is
 * JSON). A broken promise calls fuzz_fail, which aborts, so that libFuzzer
 * keeps the input as a crash; so do ASan, UBSan and a leak.
 *
 * The targets are deterministic and keep nothing from one input to the
 * next but what LLVMFuzzerInitialize makes once.
 *
 * corpus/NAME holds the seeds of fuzz_NAME: small inputs cut from data/ or
 * made by the tools from them, and the reproducers of defects found and
 * fixed, so that every run tries them again. A reproducer of a defect not
 * fixed yet waits in crashes/NAME, out of the runs, and moves to
 * corpus/NAME with its fix. `make fuzz` runs every target (run.sh).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data/encoding.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed);

/* The bytes as a FILE to read and rewind (fmemopen); aborts on failure. */
FILE *fuzz_memfile(const void *data, size_t size);

/* A FILE that collects what is written into *buf, *len (open_memstream);
 * aborts on failure. */
FILE *fuzz_memout(char **buf, size_t *len);

/* Says what went wrong on standard error and aborts. */
void fuzz_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* Writes enc as JSON (compact, as a stream's header holds it) and reads
 * it back as a reader does; aborts unless it reads back as the same
 * encoding, naming it what. The JSON text, to free. */
char *fuzz_encoding_again(const tp_encoding *enc, const char *what);

/* The next number of a deterministic sequence (splitmix64) from *state,
 * for the mutators, which get a seed from libFuzzer. */
uint64_t fuzz_random(uint64_t *state);

/* An encoding changed: if the len bytes at json are a valid encoding, one
 * of its columns gets another kind, odd statistics, one more category or
 * another name, or goes; its fingerprint is made again so that readers
 * get past its check. The new JSON, compact, to free; NULL when json is
 * not a valid encoding. */
char *fuzz_mutate_encoding(const char *json, size_t len, uint64_t *state);

#endif
