/* Fuzz target: model files from bytes (lib/model/model_file.c): the container and every part,
 * validated whole (input form: fuzz_frame.h). What parses is encoded again and its backbone
 * dequantised. */
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"
#include "fuzz/fuzz_frame.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n = 0;
    uint8_t *file = fuzz_frame(data, size, VI__MAGIC_MODEL, &n);
    vi__model_file *mf = NULL;
    if (file && vi__model_file_parse(file, n, &mf) == VI_OK) {
        uint8_t *again = NULL;
        size_t m = 0;
        if (vi__model_file_encode(mf, &again, &m) == VI_OK) vi__free(again);
        vi__named_f32 *list = NULL;
        int32_t count = 0;
        if (vi__model_file_backbone_f32(mf, &list, &count) == VI_OK) vi__named_f32_free(list, count);
        vi__model_file_free(mf);
    }
    free(file);
    return 0;
}
