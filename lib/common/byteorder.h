/* Explicit little-endian loads and stores for the file formats: every multi-byte value a file
 * holds is read and written through these, whatever the host's byte order or alignment. */
#ifndef VI_BYTEORDER_H
#define VI_BYTEORDER_H

#include <stdint.h>
#include <string.h>

static inline uint16_t vi__get_le16(const uint8_t *p) {
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}
static inline uint32_t vi__get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t vi__get_le64(const uint8_t *p) {
    return vi__get_le32(p) | (uint64_t)vi__get_le32(p + 4) << 32;
}
static inline int32_t vi__get_lei32(const uint8_t *p) {
    const uint32_t u = vi__get_le32(p);
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}
static inline int64_t vi__get_lei64(const uint8_t *p) {
    const uint64_t u = vi__get_le64(p);
    int64_t v;
    memcpy(&v, &u, 8);
    return v;
}
static inline float vi__get_lef32(const uint8_t *p) {
    const uint32_t u = vi__get_le32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

static inline void vi__put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void vi__put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vi__put_le64(uint8_t *p, uint64_t v) {
    vi__put_le32(p, (uint32_t)v);
    vi__put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline void vi__put_lei32(uint8_t *p, int32_t v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    vi__put_le32(p, u);
}
static inline void vi__put_lei64(uint8_t *p, int64_t v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    vi__put_le64(p, u);
}
static inline void vi__put_lef32(uint8_t *p, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    vi__put_le32(p, u);
}

#endif
