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
    uint8_t *bytes;     /* a copy of the model file (vi_trainer_save copies its backbone) */
    size_t n_bytes;
};

#endif
