/* Reading small numeric CSV files with a header line (training logs, result tables): every
 * field is kept as text, and read as a number on demand. No quoting: fields hold no commas. */
#ifndef AMOD_IO_CSV_H
#define AMOD_IO_CSV_H

#include "amod/error.h"

typedef struct amod_csv {
    char *text;     /* the file, split in place */
    char **fields;  /* rows * cols pointers into text; row 0 is the header */
    int rows, cols; /* rows counts the header */
} amod_csv;

/* Fails, naming the file and line, on a row whose field count differs from the header's. */
int amod_csv_read(const char *path, amod_csv *csv, amod_error *err);
void amod_csv_free(amod_csv *csv);
/* Index of the header field name, or -1. */
int amod_csv_column(const amod_csv *csv, const char *name);
/* Field (row >= 1 for data) as text, and as a number (NaN when empty or not a number). */
const char *amod_csv_text(const amod_csv *csv, int row, int col);
double amod_csv_number(const amod_csv *csv, int row, int col);

#endif
