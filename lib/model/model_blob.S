/* The built-in default model, linked into the library's read-only data. The Makefile passes
 * VI_DEFAULT_MODEL_PATH (models/default.vimodel); vi_model_load(NULL, ...) parses these bytes. */
    .section .rodata
    .balign 64
    .globl vi__default_model_data
    .hidden vi__default_model_data
    .type vi__default_model_data, @object
vi__default_model_data:
    .incbin VI_DEFAULT_MODEL_PATH
    .globl vi__default_model_end
    .hidden vi__default_model_end
vi__default_model_end:
    .section .note.GNU-stack,"",@progbits
