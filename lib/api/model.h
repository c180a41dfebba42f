/* The model object shared by the api/ files. */
#ifndef VI_API_MODEL_H
#define VI_API_MODEL_H

#include "../common/common.h"
#include "../head/head.h"
#include "../shim/torch_shim.h"

struct vi_model {
    char *id;          /* "<name>:<crc32 of the file>" */
    char *description;
    int32_t input_size; /* square RGB side the backbone takes */
    vi__net *net;       /* frozen backbone */
    vi__head head;      /* folded embedding head */
    const uint8_t *bytes; /* the model file (vi_trainer_save copies its backbone): `owned`, or
                             the built-in model's read-only data */
    size_t n_bytes;
    uint8_t *owned;       /* the file bytes when the model owns them, else NULL */
};

#endif
