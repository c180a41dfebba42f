/* Fuzz target: model files from bytes (lib/model/model_file.c): the container and every part,
 * validated whole. What parses is encoded again. */
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vi__model_file *mf = NULL;
    if (vi__model_file_parse(data, size, &mf) == VI_OK) {
        uint8_t *again = NULL;
        size_t n = 0;
        if (vi__model_file_encode(mf, &again, &n) == VI_OK) vi__free(again);
        vi__named_f32 *list = NULL;
        int32_t count = 0;
        if (vi__model_file_backbone_f32(mf, &list, &count) == VI_OK) vi__named_f32_free(list, count);
        vi__model_file_free(mf);
    }
    return 0;
}
