/* Data sets of image files: torchvision's ImageFolder layout or a list file. Only the paths
 * and labels are held; pictures are decoded when a batch needs them (data/dataset.h), so the
 * memory a data set takes grows with its number of files, never with its pixels.
 *
 *   DIR/SPLIT/<class>/.../<file>   classes are the sub-directories of DIR/SPLIT in sorted
 *                                  (byte) order, as torchvision's ImageFolder assigns them;
 *                                  files are found recursively, directory by directory in
 *                                  sorted order and sorted within each, as its os.walk does,
 *                                  keeping the extensions it accepts (IMG_EXTENSIONS, any case)
 *   list.csv                       "path,label" rows (a header "path,label" is allowed): paths
 *                                  relative to the list file's directory, labels an index or a
 *                                  class name (names are numbered in sorted order) */
#ifndef AMOD_DATA_IMAGEFOLDER_H
#define AMOD_DATA_IMAGEFOLDER_H

#include <stdint.h>

#include "amod/error.h"

#define AMOD_MAX_CLASSES 100000

typedef struct amod_file_list {
    char **paths;    /* [count] full paths */
    int32_t *labels; /* [count] */
    int64_t count;
    char **classes;  /* [num_classes] names (ImageFolder's folder names; list files' names or "0", "1", ...) */
    int num_classes;
} amod_file_list;

/* DIR/SPLIT of an ImageFolder tree. Fails, naming the folder, when it is missing, has no class
 * folders, or a class folder holds no image file. */
int amod_imagefolder_scan(const char *dir, const char *split, amod_file_list *out, amod_error *err);
/* A "path,label" list file. Fails naming the file and line for a missing path, an empty or bad
 * label, or a label beyond AMOD_MAX_CLASSES. */
int amod_file_list_read_csv(const char *path, amod_file_list *out, amod_error *err);
/* Numbers other's classes (say, val/'s) as names [n] (the training split's) do, by name: a split may lack classes (each
 * split's folders alone would number them differently and shift every label after a gap),
 * but a class train does not have fails, naming it and other_name. */
int amod_file_list_use_classes(amod_file_list *other, char *const *names, int n, const char *other_name,
                               amod_error *err);
/* Files to classify: each path in paths[n] that is a folder adds its image files (found as
 * ImageFolder finds a class's), any other path adds itself; labels 0, no classes. */
int amod_file_list_gather(const char *const *paths, int n, amod_file_list *out, amod_error *err);
void amod_file_list_free(amod_file_list *l);

#endif
